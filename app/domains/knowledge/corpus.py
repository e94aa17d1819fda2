"""The corpus version: a counter that changes, atomically with the change, whenever what retrieval can
see changes (a version ingested, a document deleted, an access list edited). Caches of answers key on it,
so an answer computed before a change is never served after it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, SmallInteger, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.core.db import Base, utcnow

_ROW_ID = 1


class CorpusState(Base):
    __tablename__ = "corpus_state"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def bump(session: Session) -> None:
    """Mark the corpus changed. The row lock is held to commit, so readers see the new version exactly
    when they can see the change."""
    session.execute(
        update(CorpusState)
        .where(CorpusState.id == _ROW_ID)
        .values(version=CorpusState.version + 1, changed_at=utcnow())
    )


def current(session: Session) -> int:
    return session.scalar(select(CorpusState.version).where(CorpusState.id == _ROW_ID)) or 0
