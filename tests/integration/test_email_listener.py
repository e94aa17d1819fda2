"""The SMTP listener over a real socket: envelope rules and STARTTLS; a message as large as the limit
allows stored byte for byte (DATA is read in blocks); too much data and over-long lines refused after the
data, audited before the reply."""

from __future__ import annotations

import base64
import datetime
import hashlib
import os
import smtplib
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from app.core.blobs import default_blob_store
from app.core.db import session_scope
from app.core.settings.front_ends import EmailSettings
from app.domains.inbox.models import InboundMail
from app.runtime.redis_server import BundledRedis
from audit.models import AuditEvent
from integrations.email.listener import Listener
from tests.conftest import Env
from tests.support.email import free_port, inbound_id, message, send


def _certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "plinth.local")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


def test_starttls_is_offered_with_a_certificate_and_recipients_are_checked(tmp_path: Path) -> None:
    cert_file, key_file = _certificate(tmp_path)
    settings = EmailSettings(
        listen_port=free_port(), tls_cert_file=cert_file, tls_key_file=key_file, addresses=["hr@corp.example"]
    )
    listener = Listener(settings)
    listener.start()
    try:
        with smtplib.SMTP("127.0.0.1", settings.listen_port, timeout=30) as smtp:
            smtp.ehlo("client.test")
            assert smtp.has_extn("starttls")
            client = ssl.create_default_context(cafile=str(cert_file))
            client.check_hostname = False
            smtp.starttls(context=client)
            smtp.ehlo("client.test")
            assert smtp.mail("alice@example.com")[0] == 250
            assert smtp.rcpt("HR+payroll@corp.example")[0] == 250
            assert smtp.rcpt("someone@corp.example")[0] == 550
    finally:
        listener.stop()
    plain = Listener(EmailSettings(listen_port=free_port()))
    plain.start()
    try:
        with smtplib.SMTP("127.0.0.1", plain.port, timeout=30) as smtp:
            smtp.ehlo("client.test")
            assert not smtp.has_extn("starttls")
    finally:
        plain.stop()


def _large(octets: int) -> bytes:
    """A message of about `octets` octets: a random attachment, and lines a transparent dot is added to
    in transit (the longest one at the line limit once it is)."""
    mail = message(subject="big", body="Is this all there?\nDOTS\n")
    # base64 lines of 76 characters (57 octets) and CRLF
    mail.add_attachment(os.urandom(octets * 57 // 78), maintype="application", subtype="octet-stream")
    raw = bytes(mail).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return raw.replace(b"DOTS", b".\r\n..leading dots\r\n" + b"." * 998, 1)


def test_a_message_at_the_size_limit_is_stored_byte_for_byte_before_250(
    database_url: str, redis_server: BundledRedis, env: Env
) -> None:
    env.set(PLINTH_REDIS_URL=redis_server.url)
    settings = EmailSettings(listen_port=free_port())
    raw = _large(26_000_000)
    stuffed = len(raw) + sum(line.startswith(b".") for line in raw.split(b"\r\n"))
    assert 25_000_000 < len(raw) < stuffed <= settings.max_message_bytes
    assert b"\r\n" + b"." * 998 + b"\r\n" in raw
    listener = Listener(settings)
    listener.start()
    try:
        mail_id = inbound_id(send(settings.listen_port, raw))
    finally:
        listener.stop()
    digest = hashlib.sha256(raw).hexdigest()
    with session_scope() as session:
        mail = session.get(InboundMail, mail_id)
        assert mail is not None
        assert (mail.blob_key, mail.size) == (digest, len(raw))
        received = session.scalars(
            select(AuditEvent.payload).where(AuditEvent.subject == f"inbound_mail:{mail_id}")
        ).all()
    assert [p["sha256"] for p in received if p and "sha256" in p] == [digest]
    with default_blob_store().open(digest) as stored:
        assert stored.read() == raw


def _refusals() -> list[dict[str, object]]:
    with session_scope() as session:
        return [
            payload
            for payload in session.scalars(
                select(AuditEvent.payload)
                .where(AuditEvent.event_type == "input.rejected", AuditEvent.channel == "email")
                .order_by(AuditEvent.seq)
            )
            if payload
        ]


def test_too_much_data_or_an_overlong_line_gets_its_refusal_after_the_data_audited_before_it(
    database_url: str, redis_server: BundledRedis, env: Env
) -> None:
    env.set(PLINTH_REDIS_URL=redis_server.url)
    settings = EmailSettings(listen_port=free_port(), max_message_bytes=64 * 1024)
    small = bytes(message(subject="small", body="What is the leave policy?")).replace(b"\n", b"\r\n")
    too_much = small + base64.encodebytes(bytes(100_000)).replace(b"\n", b"\r\n")
    overlong = small + b"x" * 5000 + b"\r\n"
    listener = Listener(settings)
    listener.start()
    try:
        with smtplib.SMTP("127.0.0.1", settings.listen_port, timeout=60) as smtp:
            smtp.ehlo("client.test")
            replies = []
            for raw in (too_much, small, overlong, small):
                assert smtp.mail("alice@example.com")[0] == 250  # no SIZE: the size is found in the data
                assert smtp.rcpt("ask@plinth.local")[0] == 250
                code, reply = smtp.data(raw)
                replies.append((code, reply.decode()))
                if code != 250:  # audited before the client had the reply
                    assert _refusals()[-1]["reason"] == f"{code} {reply.decode()}"
    finally:
        listener.stop()
    assert [code for code, _ in replies] == [552, 250, 500, 250]  # the session goes on after each
    refusals = _refusals()
    assert [str(r["reason"])[:3] for r in refusals] == ["552", "500"]
    assert refusals[0]["envelope_from"] == "alice@example.com"
    assert refusals[0]["envelope_to"] == ["ask@plinth.local"]
    with session_scope() as session:
        stored = session.scalars(select(InboundMail.size)).all()
    assert sorted(stored) == [len(small)] * 2
