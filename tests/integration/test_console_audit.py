"""The console's audit reads and delivery replay over HTTP: admins see headers but no payloads and may not
search payload text; an event's inclusion proof verifies against the signed checkpoint and stops
verifying when the stored chain is rewritten; verification reports the first broken seq; every read is
audited; a replay re-queues the delivery (and a channel without a delivery task is refused, unchanged)."""

from __future__ import annotations

import json

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.api.factory import create_app
from app.core.db import session_scope
from app.domains.conversations.models import Delivery
from app.runtime.redis_server import BundledRedis
from audit import maintenance, retention
from audit.merkle import verify_inclusion
from audit.models import AuditEvent
from audit.signing import default_signer
from audit.wormstore import default_store
from tests.conftest import Env
from tests.support import console as data
from tests.support.audit import append_events, tamper
from workers import names


@pytest.fixture
def client(database_url: str) -> TestClient:
    return TestClient(create_app(), base_url="https://testserver")


def _bearer(person: data.Person) -> dict[str, str]:
    return {"Authorization": f"Bearer {person.token}"}


def _payloads(event_type: str) -> list[dict[str, object]]:
    with session_scope() as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.event_type == event_type))
        return [row.payload or {} for row in rows]


def test_admins_see_no_payloads_and_cannot_search_them(client: TestClient) -> None:
    admin, officer = (
        data.person("admin@example.com", ["admin"]),
        data.person("cy@example.com", ["compliance"]),
    )
    append_events(3, event_type="input.received", channel="slack", correlation_id="case-1")
    as_admin = client.get("/audit", params={"correlation_id": "case-1"}, headers=_bearer(admin))
    assert as_admin.status_code == 200
    assert as_admin.text.count('href="/audit/events/') == 3
    assert "Payloads are hidden" in as_admin.text
    assert "{&#34;i&#34;:0}" not in as_admin.text
    as_officer = client.get("/audit", params={"correlation_id": "case-1"}, headers=_bearer(officer))
    assert "{&#34;i&#34;:0}" in as_officer.text
    refused = client.get("/audit", params={"q": "secret"}, headers=_bearer(admin))
    assert refused.status_code == 403
    assert "searching payload text needs the compliance role" in refused.text
    wrong = client.get(
        "/audit", params={"from": "2026-12-02T10:00", "to": "2026-12-01"}, headers=_bearer(officer)
    )
    assert wrong.status_code == 422
    assert "the time range is empty" in wrong.text
    queried = _payloads("audit.queried")
    assert [q["payloads"] for q in queried] == [False, True]
    assert queried[0]["filters"]["correlation_id"] == "case-1"  # type: ignore[index]
    [rejected] = _payloads("audit.query_rejected")
    assert rejected["reason"] == "the time range is empty: `from` must be before `to`"
    denied = _payloads("auth.permission_denied")
    assert denied[-1]["what"] == "search audit payload text"


def test_an_events_proof_verifies_against_the_signed_checkpoint(
    client: TestClient, database_url: str
) -> None:
    officer = data.person("cy@example.com", ["compliance"])
    append_events(6, event_type="input.received")
    with session_scope() as session:
        seqs = list(session.scalars(select(AuditEvent.seq).where(AuditEvent.event_type == "input.received")))
    third, fifth = seqs[2], seqs[4]
    before = client.get(f"/api/v1/audit/events/{third}", headers=_bearer(officer)).json()
    assert before["proof"]["verified"] is False
    assert before["proof"]["problem"] == "no signed checkpoint yet"
    run = maintenance.run(signer=default_signer(), store=default_store(), force=True)
    assert run.checkpoint is not None
    size = run.checkpoint.tree_size
    detail = client.get(f"/api/v1/audit/events/{third}", headers=_bearer(officer)).json()
    assert (detail["seq"], detail["payload"], detail["contents_match"]) == (third, {"i": 2}, True)
    proof = detail["proof"]
    assert (proof["verified"], proof["leaf_index"], proof["checkpoint_tree_size"]) == (True, third - 1, size)
    assert proof["checkpoint_root_hash"] == run.checkpoint.root_hash.hex()
    # The API's answer checks out with the RFC 9162 verifier alone.
    path = [bytes.fromhex(h) for h in proof["audit_path"]]
    assert verify_inclusion(third - 1, size, bytes.fromhex(detail["hash"]), path, run.checkpoint.root_hash)
    page = client.get(f"/audit/events/{third}", headers=_bearer(officer)).text
    assert "verified</span> the event is in the signed tree" in page

    # A rewritten hash in the stored chain: its contents no longer match, and no proof verifies.
    tamper(database_url, f"UPDATE audit.events SET hash = sha256(hash) WHERE seq = {fifth}")
    broken = client.get(f"/api/v1/audit/events/{third}", headers=_bearer(officer)).json()
    assert broken["proof"]["verified"] is False
    assert broken["proof"]["problem"] == "the stored chain does not match the signed Merkle root"
    assert (
        client.get(f"/api/v1/audit/events/{fifth}", headers=_bearer(officer)).json()["contents_match"]
        is False
    )
    assert client.get("/api/v1/audit/events/999", headers=_bearer(officer)).status_code == 404
    admin = data.person("admin@example.com", ["admin"])
    hidden = client.get(f"/api/v1/audit/events/{third}", headers=_bearer(admin)).json()
    assert (hidden["payload"], hidden["payload_shown"], hidden["payload_purged"]) == (None, False, False)


def test_verification_reports_the_first_broken_event(client: TestClient, database_url: str) -> None:
    admin = data.person("admin@example.com", ["admin"])
    append_events(5)
    maintenance.run(signer=default_signer(), store=default_store(), force=True)
    ok = client.post("/api/v1/audit/verify", headers=_bearer(admin)).json()
    assert ok["finished"] is True
    assert ok["result"]["ok"] is True
    assert ok["result"]["checkpoints_checked"] == 1
    tamper(database_url, "DELETE FROM audit.events WHERE seq = 4")
    failed = client.post("/api/v1/audit/verify", headers=_bearer(admin)).json()
    assert failed["result"] == {
        "ok": False,
        "failed_seq": 4,
        "reason": "missing: the chain jumps from 3 to 5",
    }
    assert [v["ok"] for v in _payloads("audit.verified")] == [True, False]


def test_a_replay_requeues_the_delivery(client: TestClient, redis_server: BundledRedis, env: Env) -> None:
    url = redis_server.url.rsplit("/", 1)[0] + "/8"  # a database no test worker consumes
    env.set(PLINTH_REDIS_URL=url)
    broker = redis.Redis.from_url(url)
    broker.flushdb()
    admin, asker = data.person("admin@example.com", ["admin"]), data.person("eli@example.com", [])
    slack = data.failed_delivery(data.question(asker.id, "Where is the VPN guide?", channel="slack"))
    api = data.failed_delivery(data.question(asker.id, "And the wiki?", channel="api"))
    assert client.post(f"/api/v1/deliveries/{slack}/replay", headers=_bearer(admin)).status_code == 202
    [queued] = [json.loads(m) for m in broker.lrange(names.QUEUE_DELIVERIES, 0, -1)]
    assert queued["headers"]["task"] == "plinth.slack.deliver"
    again = client.post(f"/api/v1/deliveries/{slack}/replay", headers=_bearer(admin))
    assert again.status_code == 409
    assert "is pending, not failed" in again.json()["error"]["message"]
    refused = client.post(f"/api/v1/deliveries/{api}/replay", headers=_bearer(admin))
    assert refused.status_code == 409
    assert (
        refused.json()["error"]["message"] == "api has no delivery task: its callers fetch answers themselves"
    )
    with session_scope() as session:
        assert session.get(Delivery, slack).status == "pending"  # type: ignore[union-attr]
        assert session.get(Delivery, api).status == "failed"  # type: ignore[union-attr]
    [requeued] = _payloads("output.delivery_requeued")
    assert requeued["last_error"] == "channel_not_found"


def test_a_purge_needs_a_second_admin(client: TestClient) -> None:
    ada, ben = data.person("ada@example.com", ["admin"]), data.person("ben@example.com", ["admin"])
    officer = data.person("cy@example.com", ["compliance"])
    append_events(2, event_type="input.received")
    saved = client.post(
        "/settings/retention",
        data={"event_type": "input.received", "days": "30"},
        headers=_bearer(ada),
        follow_redirects=False,
    )
    assert saved.status_code == 303
    # Compliance reads the page and changes nothing.
    assert client.get("/settings/retention", headers=_bearer(officer)).status_code == 200
    assert (
        client.post(
            "/settings/retention/purges", data={"event_type": "input.received"}, headers=_bearer(officer)
        ).status_code
        == 403
    )
    requested = client.post(
        "/settings/retention/purges",
        data={"event_type": "input.received"},
        headers=_bearer(ada),
        follow_redirects=False,
    )
    assert requested.status_code == 303
    with session_scope() as session:
        [pending] = retention.pending_requests(session)
    own = client.post(f"/settings/retention/purges/{pending.id}/approve", headers=_bearer(ada))
    assert own.status_code == 403
    assert "two different approvers" in own.text
    assert _payloads("auth.permission_denied")[-1]["what"] == f"approve purge request {pending.id}"
    done = client.post(
        f"/settings/retention/purges/{pending.id}/approve", headers=_bearer(ben), follow_redirects=False
    )
    assert done.status_code == 303
    # Nothing is old enough yet: carried out, nothing purged.
    assert "Purge%20carried%20out%3A%200%20payloads%20purged" in done.headers["location"]
    [purged] = _payloads("audit.payloads_purged")
    assert purged["approvers"] == sorted([f"principal:{ada.id}", f"principal:{ben.id}"])
