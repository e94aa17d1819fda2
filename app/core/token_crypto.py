"""Encryption at rest for the third-party tokens Plinth stores (Slack installations): Fernet
(AES-128-CBC + HMAC-SHA256) with a key ring for rotation. The first key encrypts, every key decrypts.

Keys come from PLINTH_SLACK_TOKEN_KEYS (comma-separated, newest first) or else a key file under
PLINTH_HOME/keys (one key a line, newest first; mode 0600 in a 0700 directory, created with one fresh
key on first use) — outside the database, so a copy of the database alone reveals no token. The file is
re-read when it changes, so a rotation reaches running processes without a restart."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from app.core.errors import ConfigurationError
from app.core.settings import get_settings

KEY_FILE_NAME = "slack-tokens.key"


class TokenDecryptionError(ConfigurationError):
    """A stored token no configured key opens."""


def parse_keys(text: str) -> list[bytes]:
    """Keys from a comma- or newline-separated list (blank lines and `#` comments skipped)."""
    parts = (part.strip() for part in text.replace(",", "\n").splitlines())
    return [part.encode() for part in parts if part and not part.startswith("#")]


def _ring(keys: list[bytes], where: str) -> MultiFernet:
    if not keys:
        raise ConfigurationError(f"no token encryption key in {where}")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ConfigurationError(f"a token encryption key in {where} is not a Fernet key ({exc})") from exc


def key_file() -> Path:
    settings = get_settings()
    return settings.slack.token_key_file or settings.keys_dir / KEY_FILE_NAME


def ensure_key_file(path: Path) -> None:
    """Create the key file with one fresh key (0600) unless it exists."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        return
    with os.fdopen(fd, "wb") as out:
        out.write(Fernet.generate_key() + b"\n")


def write_key_file(path: Path, keys: list[bytes]) -> None:
    """Replace the key file's keys atomically (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(b"".join(key + b"\n" for key in keys))
    tmp.replace(path)


_cache: dict[tuple[str, int, int, int], MultiFernet] = {}
_lock = threading.Lock()


def cipher() -> MultiFernet:
    """The current key ring (from the setting, else the key file, created if missing)."""
    configured = get_settings().slack.token_keys
    if configured is not None:
        return _ring(parse_keys(configured.get_secret_value()), "PLINTH_SLACK_TOKEN_KEYS")
    path = key_file()
    ensure_key_file(path)
    info = path.stat()  # a rewrite replaces the file: a new inode, whatever the clock's granularity
    stamp = (str(path), info.st_ino, info.st_mtime_ns, info.st_size)
    with _lock:
        ring = _cache.get(stamp)
        if ring is None:
            ring = _ring(parse_keys(path.read_text()), str(path))
            _cache.clear()
            _cache[stamp] = ring
        return ring


def encrypt(plaintext: str | None) -> str | None:
    if plaintext is None:
        return None
    return cipher().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str | None) -> str | None:
    if ciphertext is None:
        return None
    try:
        return cipher().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise TokenDecryptionError(
            "a stored token cannot be decrypted with the configured keys (was a key removed before "
            "`plinth slack installations rotate-key` finished?)"
        ) from exc


def reencrypt(ciphertext: str | None) -> str | None:
    """The same token under the newest key (MultiFernet.rotate)."""
    if ciphertext is None:
        return None
    return cipher().rotate(ciphertext.encode()).decode()
