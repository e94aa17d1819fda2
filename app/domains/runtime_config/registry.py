"""The sections other areas register: a key, the pydantic model its value must satisfy, and optionally
where the value in force lives when that is not the store itself (`read`) and how to carry a change out
(`apply`, in the same transaction as the new version)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel
from sqlalchemy.orm import Session

from app.core.errors import NotFound

# (session, before, after, actor): raise an AppError to refuse the change.
Apply = Callable[[Session, BaseModel, BaseModel, str], None]


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    model: type[BaseModel]
    # Default: the latest stored version, else the model's defaults (which are also version 0).
    read: Callable[[Session], BaseModel] | None = None
    apply: Apply | None = None


_SECTIONS: dict[str, Section] = {}


def register(section: Section) -> Section:
    if section.key in _SECTIONS and _SECTIONS[section.key] != section:
        raise ValueError(f"settings section {section.key!r} is registered already")
    _SECTIONS[section.key] = section
    return section


def section(key: str) -> Section:
    found = _SECTIONS.get(key)
    if found is None:
        raise NotFound(f"no settings section {key!r}: use one of {', '.join(sorted(_SECTIONS)) or 'none'}")
    return found


def sections() -> list[Section]:
    return [_SECTIONS[key] for key in sorted(_SECTIONS)]
