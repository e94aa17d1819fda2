"""The email front end end to end: smtplib sends real and crafted messages to the running listener, a
real Celery worker processes them against PostgreSQL, and replies arrive in the local sink over SMTP."""

from __future__ import annotations

import smtplib
import socket
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from app.core.db import dispose_engines, session_scope
from app.core.settings import get_settings, reset_settings_cache
from app.domains.conversations.models import Delivery, Feedback
from app.domains.inbox.models import InboundMail
from app.domains.knowledge.models import Document
from app.domains.principals import service as principals
from app.runtime.postgres import EmbeddedPostgres
from app.runtime.redis_server import BundledRedis
from audit.models import AuditEvent
from integrations.email.listener import Listener
from integrations.email.sink import MaildirHandler
from tests.fakes.openai_server import StubServer
from tests.integration.conftest import ingest_file
from tests.support import databases
from tests.support.email import (
    all_settled,
    free_port,
    inbound_id,
    message,
    send,
    settled,
    sink_mail,
    wait_until,
    zip_bytes,
)
from tests.support.processes import plinth_env, private_redis_url, run_cli, start_worker

pytestmark = pytest.mark.slow
TRUSTED = "mx.example.com"
PASS = f"{TRUSTED}; spf=pass smtp.mailfrom=example.com; dkim=pass header.d=example.com; dmarc=pass"


class EmailSystem:
    def __init__(self, env: dict[str, str], port: int, sink_dir: Path) -> None:
        self.env, self.port, self.sink_dir = env, port, sink_dir

    def replies_to(self, address: str) -> list[EmailMessage]:
        return [m for m in sink_mail(self.sink_dir) if address in str(m["To"])]


@pytest.fixture(scope="module")
def system(
    pg: EmbeddedPostgres,
    redis_server: BundledRedis,
    stub_llm: StubServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[EmailSystem]:
    name = databases.create_copy(pg, prefix="email")
    home = tmp_path_factory.mktemp("email-home")
    sink_dir = home / "mail" / "sink"
    sink_port, listen_port = free_port(), free_port()
    redis_url = private_redis_url(redis_server)
    settings_env = {
        "PLINTH_HOME": str(home),
        "PLINTH_DATABASE_URL": pg.url(name),
        "PLINTH_REDIS_URL": redis_url,
        "PLINTH_LLM_BASE_URL": stub_llm.base_url,
        "PLINTH_EMAIL_LISTEN_PORT": str(listen_port),
        "PLINTH_EMAIL_RELAY_PORT": str(sink_port),
        "PLINTH_EMAIL_ALLOWED_DOMAINS": '["bots.example"]',
        "PLINTH_EMAIL_TRUSTED_AUTHSERV_ID": TRUSTED,
        "PLINTH_EMAIL_MAX_MESSAGE_BYTES": str(4 * 1024 * 1024),
    }
    sink_server = Controller(MaildirHandler(sink_dir), hostname="127.0.0.1", port=sink_port)
    sink_server.start()
    worker = start_worker(plinth_env(settings_env), home / "worker.log", redis_url=redis_url)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in settings_env.items():
            patch.setenv(key, value)
        reset_settings_cache()
        dispose_engines()
        listener = Listener(get_settings().email)
        listener.start()
        with session_scope() as session:
            principals.ensure_local(session, handle="alice@example.com")
            principals.ensure_local(session, handle="carol@example.com")
        ingest_file(
            Path(__file__).resolve().parents[3]
            / "shared"
            / "data"
            / "qa"
            / "handbook-18F"
            / "pages"
            / "travel-and-leave"
            / "leave.md"
        )
        yield EmailSystem(settings_env, listen_port, sink_dir)
        listener.stop()
        worker.stop()
        sink_server.stop()
        reset_settings_cache()
        dispose_engines()
    databases.drop(pg, name)


def _ask(system: EmailSystem, subject: str, body: str, **headers: str) -> tuple[EmailMessage, InboundMail]:
    mail = message(subject=subject, body=body, Authentication_Results=PASS, **headers)
    return mail, settled(inbound_id(send(system.port, bytes(mail))))


def test_a_question_is_answered_in_the_same_thread_and_feedback_comes_back(system: EmailSystem) -> None:
    question, inbound = _ask(system, "Sick leave", "How do I request sick leave?\n\nThanks,\n-- \nAlice")
    assert (inbound.status, inbound.kind) == ("processed", "question")
    reply = wait_until(
        lambda: next(
            (m for m in system.replies_to("alice@") if m["In-Reply-To"] == question["Message-ID"]), None
        ),
        what="the answer in the sink",
    )
    assert reply["Subject"] == "Re: Sick leave"
    assert question["Message-ID"] in reply["References"]
    assert reply["Auto-Submitted"] == "auto-replied"
    assert reply.get_content_type() == "multipart/alternative"
    text = reply.get_body(("plain",)).get_content()
    body_html = reply.get_body(("html",)).get_content()
    assert "Sources:" in text
    assert "[1]" in text
    assert "<ol>" in body_html
    assert "<a href=" in body_html

    def delivery_status() -> str | None:
        with session_scope() as session:
            return session.scalar(
                select(Delivery.status).where(Delivery.message_id == inbound.conversation_message_id)
            )

    # The worker marks the delivery once the relay (the sink) has taken the reply, so a moment after it
    # is in the sink.
    wait_until(lambda: delivery_status() == "delivered", what="the delivery marked delivered")
    rating = message(
        subject="Re: Sick leave", body="helpful", In_Reply_To=reply["Message-ID"], Authentication_Results=PASS
    )
    rated = settled(inbound_id(send(system.port, bytes(rating))))
    assert (rated.status, rated.kind) == ("processed", "feedback")
    with session_scope() as session:
        assert (
            session.scalar(select(Feedback.rating).where(Feedback.principal_id == inbound.principal_id)) == 1
        )


def test_a_forward_is_ingested_with_the_senders_access_and_a_receipt_lists_every_file(
    system: EmailSystem,
) -> None:
    mail = message(
        to="docs@plinth.local", subject="Fwd: expense policy", body="FYI", Authentication_Results=PASS
    )
    mail.add_attachment(
        b"Expenses over 500 dollars need a receipt and a manager's approval.\n",
        maintype="text",
        subtype="plain",
        filename="expenses.txt",
    )
    mail.add_attachment(
        zip_bytes({"zeros.txt": b"\0" * (60 * 1024 * 1024)}),
        maintype="application",
        subtype="zip",
        filename="bomb.zip",
    )
    mail.add_attachment(
        b"\x89PNG\r\n\x1a\n" + b"\0" * 64, maintype="image", subtype="png", filename="logo.png"
    )
    inbound = settled(inbound_id(send(system.port, bytes(mail), to="docs@plinth.local")))
    assert (inbound.status, inbound.kind) == ("processed", "forward")
    files = {f["name"]: f for f in inbound.facts["files"]}
    assert files["expenses.txt"]["accepted"]
    assert not files["bomb.zip"]["accepted"]
    assert "zip bomb" in files["bomb.zip"]["detail"]
    assert not files["logo.png"]["accepted"]
    receipt = wait_until(
        lambda: next(
            (m for m in system.replies_to("alice@") if m["In-Reply-To"] == mail["Message-ID"]), None
        ),
        what="the receipt",
    )
    text = receipt.get_body(("plain",)).get_content()
    assert "1 of 3 file(s)" in text
    assert "bomb.zip" in text
    assert "logo.png" in text
    with session_scope() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(Document)
                .where(Document.source_key == "alice@example.com/expenses.txt")
            )
            == 1
        )


def test_dmarc_failure_and_unknown_senders_are_quarantined_without_reply_until_released(
    system: EmailSystem,
) -> None:
    forged = message(
        subject="Payroll",
        body="What is the payroll date?",
        Authentication_Results=f"{TRUSTED}; dmarc=fail header.from=example.com",
    )
    forged["Authentication-Results"] = "evil.example; dmarc=pass header.from=example.com"  # forged, ignored
    quarantined = settled(inbound_id(send(system.port, bytes(forged))))
    assert (quarantined.status, quarantined.reason) == ("quarantined", "auth.dmarc_fail")
    assert quarantined.facts["authentication"]["ignored_headers"] == 1
    stranger = message(sender="mallory@elsewhere.example", subject="Hi", body="What is the leave policy?")
    unknown = settled(inbound_id(send(system.port, bytes(stranger), sender="mallory@elsewhere.example")))
    assert (unknown.status, unknown.reason) == ("quarantined", "sender.unknown")
    listed = run_cli("email", "list", "--status", "quarantined", env=plinth_env(system.env))
    assert str(unknown.id) in listed.stdout, listed.stderr
    discarded = run_cli("email", "discard", str(quarantined.id), env=plinth_env(system.env))
    assert discarded.returncode == 0, discarded.stderr
    released = run_cli("email", "release", str(unknown.id), env=plinth_env(system.env))
    assert released.returncode == 0, released.stderr
    wait_until(lambda: system.replies_to("mallory@"), what="the reply to the released message")
    assert not [m for m in system.replies_to("alice@") if m["In-Reply-To"] == forged["Message-ID"]]


def test_auto_replies_and_two_bots_mailing_each_other_get_at_most_one_reply(system: EmailSystem) -> None:
    auto = message(
        sender="carol@example.com",
        subject="Out of office",
        body="I am away. When is payday?",
        Auto_Submitted="auto-replied",
    )
    refused = settled(inbound_id(send(system.port, bytes(auto), sender="carol@example.com")))
    assert (refused.status, refused.reason) == ("refused", "loop.auto_submitted")
    first = message(sender="bot@bots.example", subject="Status", body="How do I request sick leave?")
    send(system.port, bytes(first), sender="bot@bots.example")
    handled: set[str] = set()
    for _ in range(4):  # the bot answers everything we send it, like an autoresponder does
        replies = wait_until(lambda: system.replies_to("bot@bots.example"), what="a reply to the bot")
        for reply in replies:
            if reply["Message-ID"] in handled:
                continue
            handled.add(reply["Message-ID"])
            echo = message(
                sender="bot@bots.example",
                subject=f"Re: {reply['Subject']}",
                body="Thank you for your message.",
                In_Reply_To=reply["Message-ID"],
                Auto_Submitted="auto-replied",
            )
            assert (
                settled(inbound_id(send(system.port, bytes(echo), sender="bot@bots.example"))).status
                == "refused"
            )
            # a cruder bot echoes our own headers back
            copy = message(
                sender="bot@bots.example",
                subject=f"Re: {reply['Subject']}",
                body="Got it, and what else?",
                X_Loop=str(reply["X-Loop"]),
            )
            looped = settled(inbound_id(send(system.port, bytes(copy), sender="bot@bots.example")))
            assert (looped.status, looped.reason) == ("refused", "loop.x_loop")
    assert len(system.replies_to("bot@bots.example")) == 1


def test_the_same_message_id_is_processed_once(system: EmailSystem) -> None:
    mail = message(
        sender="carol@example.com",
        subject="Leave",
        body="How many days of annual leave do I get?",
        Authentication_Results=PASS,
    )
    first = settled(inbound_id(send(system.port, bytes(mail), sender="carol@example.com")))
    second = settled(inbound_id(send(system.port, bytes(mail), sender="carol@example.com")))
    assert first.status == "processed"
    assert (second.status, second.reason) == ("refused", "duplicate")
    wait_until(
        lambda: [m for m in system.replies_to("carol@") if m["In-Reply-To"] == mail["Message-ID"]],
        what="one reply",
    )
    assert len([m for m in system.replies_to("carol@") if m["In-Reply-To"] == mail["Message-ID"]]) == 1


def test_smtp_limits_oversize_recipients_and_smuggling(system: EmailSystem) -> None:
    big = message(subject="big", body="x" * 100)
    big.add_attachment(
        b"\0" * (5 * 1024 * 1024), maintype="application", subtype="octet-stream", filename="big.bin"
    )
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:  # the SIZE given in MAIL FROM is over the limit
        smtplib.SMTP("127.0.0.1", system.port, timeout=60).sendmail(
            "alice@example.com", ["ask@plinth.local"], bytes(big)
        )
    assert refused.value.smtp_code == 552
    with pytest.raises(smtplib.SMTPDataError) as too_much:  # no SIZE given: refused after the data
        send(system.port, bytes(big))
    assert too_much.value.smtp_code == 552
    with smtplib.SMTP("127.0.0.1", system.port, timeout=30) as smtp:
        smtp.ehlo("client.test")
        smtp.mail("alice@example.com")
        assert smtp.rcpt("nobody@plinth.local")[0] == 550
        assert smtp.rcpt("ask+hr@plinth.local")[0] == 250
        codes = [smtp.rcpt("docs@plinth.local")[0] for _ in range(get_settings().email.max_recipients + 1)]
        assert codes[-1] == 452
    with socket.create_connection(("127.0.0.1", system.port), timeout=30) as raw:
        stream = raw.makefile("rwb")
        stream.readline()
        for line in (b"EHLO x", b"MAIL FROM:<alice@example.com>", b"RCPT TO:<ask@plinth.local>", b"DATA"):
            stream.write(line + b"\r\n")
            stream.flush()
            while (answer := stream.readline())[3:4] == b"-":
                pass
        stream.write(b"From: alice@example.com\r\nSubject: s\r\n\r\nhi\n.\nMAIL FROM:<evil@x>\r\n.\r\n")
        stream.flush()
        answer = stream.readline()
    assert answer.startswith(b"550"), answer
    with session_scope() as session:
        smuggled = session.scalar(select(InboundMail).where(InboundMail.reason == "smtp.bare_line_feed"))
    assert smuggled is not None
    assert smuggled.status == "refused"
    with session_scope() as session:
        refusals = [
            payload["reason"][:3]
            for payload in session.scalars(
                select(AuditEvent.payload).where(
                    AuditEvent.event_type == "input.rejected", AuditEvent.channel == "email"
                )
            )
            if payload
        ]
    assert refusals.count("552") == 2  # declared too big, and found too big after the data
    assert {"550", "452"} <= set(refusals)


def test_deeply_nested_mime_is_refused_with_a_reason(system: EmailSystem) -> None:
    inner = "Content-Type: text/plain\r\n\r\nWhat is the leave policy?\r\n"
    for level in range(60):
        head = f'Content-Type: multipart/mixed; boundary="b{level}"\r\n\r\n'
        inner = f"{head}--b{level}\r\n{inner}\r\n--b{level}--\r\n"
    head = f"From: alice@example.com\r\nSubject: deep\r\nMessage-ID: <{uuid.uuid4()}@example.com>\r\n"
    raw = f"{head}MIME-Version: 1.0\r\n{inner}"
    refused = settled(inbound_id(send(system.port, raw.encode())))
    assert (refused.status, refused.reason) == ("refused", "mime.too_deep")


def test_every_real_message_ends_processed_quarantined_or_refused(
    system: EmailSystem, shared_data: Path
) -> None:
    ids = []
    for path in sorted((shared_data / "emails").glob("*.eml")):
        ids.append(inbound_id(send(system.port, path.read_bytes(), sender="relay@corpus.example")))
    rows = all_settled(ids, timeout=600)
    for row in rows:
        assert row.status in ("processed", "quarantined", "refused"), (row.id, row.status)
        assert row.reason, row.id
        assert row.detail, row.id
    reasons = {row.reason for row in rows}
    assert {"sender.unknown", "report.bounce"} <= reasons, reasons
    assert any(r.startswith("loop.") for r in reasons), reasons
    # The listener is still up and taking mail.
    inbound_id(send(system.port, bytes(message(subject="still there?", body="ping"))))
