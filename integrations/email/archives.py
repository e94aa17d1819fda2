"""Archives attached to mail, opened only within strict limits: member count, total uncompressed size
and compression ratio are checked from the central directory before anything is unpacked (a zip bomb
is refused unread), and every member is read with a cap in case the directory lies."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field

from app.core.settings.front_ends import EmailSettings

ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class Refusal:
    name: str
    reason: str  # stable code
    detail: str


@dataclass
class Expanded:
    files: list[tuple[str, bytes]] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


def is_zip(data: bytes) -> bool:
    return data.startswith(ZIP_MAGIC)


def expand(name: str, data: bytes, limits: EmailSettings, *, depth: int = 1) -> Expanded:
    """The files inside a zip archive (nested archives opened up to the depth limit)."""
    result = Expanded()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        result.refused.append(Refusal(name, "archive.corrupt", f"not a readable zip archive ({exc})"))
        return result
    refusal = _check(name, members, limits)
    if refusal is not None:
        result.refused.append(refusal)
        return result
    for info in members:
        member = f"{name}/{info.filename}"
        try:
            with archive.open(info) as stream:
                content = stream.read(info.file_size + 1)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError) as exc:
            result.refused.append(Refusal(member, "archive.member_unreadable", str(exc)))
            continue
        if len(content) > info.file_size:
            result.refused.append(Refusal(member, "archive.size_mismatch", "larger than its directory entry"))
            continue
        if is_zip(content):
            if depth >= limits.max_archive_depth:
                result.refused.append(
                    Refusal(
                        member,
                        "archive.too_deep",
                        f"archives nested more than {limits.max_archive_depth} deep",
                    )
                )
                continue
            inner = expand(member, content, limits, depth=depth + 1)
            result.files.extend(inner.files)
            result.refused.extend(inner.refused)
        else:
            result.files.append((member, content))
    return result


def _check(name: str, members: list[zipfile.ZipInfo], limits: EmailSettings) -> Refusal | None:
    if any(info.flag_bits & 0x1 for info in members):
        return Refusal(name, "archive.encrypted", "the archive is password-protected")
    if len(members) > limits.max_archive_members:
        return Refusal(
            name, "archive.too_many_members", f"{len(members)} files, more than {limits.max_archive_members}"
        )
    total = sum(info.file_size for info in members)
    if total > limits.max_archive_bytes:
        return Refusal(
            name,
            "archive.too_large",
            f"{total} bytes unpacked, over the limit of {limits.max_archive_bytes} (a zip bomb?)",
        )
    compressed = max(sum(info.compress_size for info in members), 1)
    if total / compressed > limits.max_archive_ratio:
        return Refusal(
            name,
            "archive.ratio",
            f"compression ratio {total / compressed:.0f}:1 is over {limits.max_archive_ratio:.0f}:1 "
            "(a zip bomb?)",
        )
    return None
