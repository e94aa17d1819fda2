"""Principals created on first use, concurrently."""

from __future__ import annotations

import threading

from app.core.db import session_scope
from app.domains.principals import service as principals


def test_concurrent_first_use_of_a_handle_creates_one_principal(database_url: str) -> None:
    barrier = threading.Barrier(8)
    ids: list[object] = []
    errors: list[BaseException] = []

    def first_use() -> None:
        try:
            with session_scope() as session:
                barrier.wait()
                ids.append(principals.ensure_local(session, handle="new.hire@example.com").id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(ids) == 8
    assert len(set(ids)) == 1
