"""The SMTP listener's envelope rules and STARTTLS, over a real socket (no message is stored here)."""

from __future__ import annotations

import datetime
import smtplib
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.core.settings import EmailSettings
from integrations.email.listener import Listener
from tests.support.email import free_port


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
