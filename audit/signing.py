"""Who signs checkpoints: a small Protocol with a registry. The default keeps an Ed25519 private key in
a file under PLINTH_HOME/keys (mode 0600), created on first use — outside the database, so whoever can
rewrite the database cannot re-sign its history. An HSM or KMS signer registers under its own name."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.core.errors import ConfigurationError
from app.core.settings import Settings, get_settings


class Signer(Protocol):
    def public_key_pem(self) -> bytes: ...

    def sign(self, message: bytes) -> bytes: ...


def key_id(public_key_pem: bytes) -> str:
    """`SHA256:<base64>` of the raw public key, the fingerprint an auditor compares out of band."""
    raw = load_public_key(public_key_pem).public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return "SHA256:" + base64.b64encode(hashlib.sha256(raw).digest()).decode().rstrip("=")


def load_public_key(pem: bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ValueError(f"not a PEM public key ({exc})") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("the public key is not an Ed25519 key")
    # Only the canonical encoding is accepted, so no byte of the file can change unnoticed.
    if key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo) != pem:
        raise ValueError("the public key file is not in canonical PEM form")
    return key


def verify_signature(public_key_pem: bytes, signature: bytes, message: bytes) -> bool:
    try:
        load_public_key(public_key_pem).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


class FileSigner:
    """Ed25519 key in a PEM file, created (0600, in a 0700 directory) when missing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigurationError(f"{path} does not hold an Ed25519 private key")
        self._key = key

    def public_key_pem(self) -> bytes:
        return self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


def _file_signer(settings: Settings) -> Signer:
    return FileSigner(settings.audit.signing_key_file or settings.keys_dir / "audit-signing.pem")


SIGNERS: dict[str, Callable[[Settings], Signer]] = {"file": _file_signer}


def default_signer() -> Signer:
    settings = get_settings()
    factory = SIGNERS.get(settings.audit.signer)
    if factory is None:
        raise ConfigurationError(
            f"unknown PLINTH_AUDIT_SIGNER {settings.audit.signer!r}: use one of {', '.join(sorted(SIGNERS))}"
        )
    return factory(settings)
