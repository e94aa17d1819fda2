"""`plinth audit ...` as an operator runs it: verify (exit 0 and a summary; non-zero with the first failing
seq), checkpoint, export, bundle, and verify-bundle offline with no database configured."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Env
from tests.support.audit import append_events, tamper
from tests.support.processes import plinth_env, run_cli


def test_the_audit_commands_end_to_end(database_url: str, env: Env, tmp_path: Path) -> None:
    append_events(6, event_type="input.received", correlation_id="case-1")
    cli_env = plinth_env(env.as_dict())
    checkpoint = run_cli("audit", "checkpoint", env=cli_env)
    assert checkpoint.returncode == 0, checkpoint.stderr
    assert "checkpoint at size 6" in checkpoint.stdout

    verified = run_cli("audit", "verify", "--json", env=cli_env)
    assert verified.returncode == 0, verified.stderr
    summary = json.loads(verified.stdout)
    assert (summary["ok"], summary["events"], summary["checkpoints_checked"]) == (True, 6, 1)

    out = tmp_path / "events.jsonl"
    exported = run_cli(
        "audit", "export", "--from", "2000-01-01", "--format", "jsonl", "--out", str(out), env=cli_env
    )
    assert exported.returncode == 0, exported.stderr
    assert [json.loads(line)["seq"] for line in out.read_text().splitlines()][:6] == [1, 2, 3, 4, 5, 6]

    evidence = tmp_path / "bundle"
    bundled = run_cli("audit", "bundle", "--out", str(evidence), "--correlation-id", "case-1", env=cli_env)
    assert bundled.returncode == 0, bundled.stderr
    offline = plinth_env({"PLINTH_HOME": str(tmp_path / "elsewhere")})  # no database, another home
    checked = run_cli("audit", "verify-bundle", str(evidence), env=offline)
    assert checked.returncode == 0, checked.stderr
    assert "verified: 6 events" in checked.stdout
    events_file = evidence / "events.jsonl"
    events_file.write_bytes(events_file.read_bytes().replace(b"case-1", b"case-9", 1))
    refused = run_cli("audit", "verify-bundle", str(evidence), env=offline)
    assert refused.returncode == 1
    assert "events.jsonl does not match its digest" in refused.stderr

    tamper(database_url, "DELETE FROM audit.events WHERE seq = 4")
    failed = run_cli("audit", "verify", env=cli_env)
    assert failed.returncode == 1
    assert "FAILED at seq 4: missing: the chain jumps from 3 to 5" in failed.stderr
