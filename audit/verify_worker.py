"""A verification worker (`python -m audit.verify_worker`): reads its job — a database URL, libpq
options and ranges of seqs — as a pickle on stdin, and for each range reads the rows on a connection of
its own, recomputes them (audit.recompute) and writes the outcome (a `Run`, or None) as a pickle on
stdout, in order. It trusts the rows no more than the calling verifier does; the caller links the runs
into the chain and checks the checkpoints. Imports stay light: a worker starts per verification."""

from __future__ import annotations

import pickle
import sys
from typing import Any

import psycopg

from audit.recompute import recompute_run
from audit.rows import UTF8_BODY, batches


def serve(job: dict[str, Any], out: Any) -> None:
    with psycopg.connect(job["url"], options=job["options"], autocommit=True) as connection:
        for first, last in job["ranges"]:
            rows = next(
                batches(connection, start_seq=first, end_seq=last, batch=last - first + 1, body=UTF8_BODY)
            )
            pickle.dump(
                recompute_run(rows, first_seq=first, last_seq=last), out, protocol=pickle.HIGHEST_PROTOCOL
            )
            out.flush()


if __name__ == "__main__":
    serve(pickle.load(sys.stdin.buffer), sys.stdout.buffer)  # noqa: S301 - the verifier that started us
