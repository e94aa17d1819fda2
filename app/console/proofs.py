"""An event's RFC 6962 inclusion proof against a signed checkpoint, computed in one pass over the chain
hashes: each sibling on the audit path is the Merkle root of a contiguous range of leaves, fetched in
batches and built from perfect chunks hashed level by level (the bulk of the work, in list
comprehensions) and a stack of subtree roots, so memory stays at one batch plus O(log n) nodes."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from audit.merkle import node_hash, verify_inclusion

CHUNK = 4096  # leaves hashed together; a power of two
BATCH = 16 * CHUNK  # leaves fetched at a time
# (start, end) -> the leaf hashes at positions start..end-1 (fewer if the log is shorter)
Fetch = Callable[[int, int], Sequence[bytes]]


def _split(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def sibling_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """(start, length) of the subtrees whose roots form PATH(index, D[0:size]), in proof order."""
    if not 0 <= index < size:
        raise ValueError(f"no leaf {index} in a tree of size {size}")
    ranges: list[tuple[int, int]] = []
    start, n, m = 0, size, index
    while n > 1:
        k = _split(n)
        if m < k:
            ranges.append((start + k, n - k))
            n = k
        else:
            ranges.append((start, k))
            start, n, m = start + k, n - k, m - k
    return list(reversed(ranges))


def _perfect_root(leaves: list[bytes]) -> bytes:
    level = leaves
    while len(level) > 1:
        level = [hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level), 2)]
    return level[0]


@dataclass
class _RangeRoot:
    """MTH of a run of leaves fed in order: full chunks become perfect subtrees, merged on a stack of
    (size, root) like a Merkle frontier; the leaves after the last full chunk join one by one."""

    chunk: int
    stack: list[tuple[int, bytes]] = field(default_factory=list)
    buffer: list[bytes] = field(default_factory=list)

    def extend(self, leaves: Sequence[bytes]) -> None:
        self.buffer.extend(leaves)
        while len(self.buffer) >= self.chunk:
            self._push(self.chunk, _perfect_root(self.buffer[: self.chunk]))
            del self.buffer[: self.chunk]

    def _push(self, size: int, node: bytes) -> None:
        while self.stack and self.stack[-1][0] == size:
            node = node_hash(self.stack.pop()[1], node)
            size *= 2
        self.stack.append((size, node))

    def root(self) -> bytes:
        for leaf in self.buffer:
            self._push(1, leaf)
        self.buffer = []
        acc = self.stack[-1][1]
        for _, node in reversed(self.stack[:-1]):
            acc = node_hash(node, acc)
        return acc


@dataclass(frozen=True)
class Proof:
    index: int
    tree_size: int
    leaf: bytes
    path: list[bytes]

    def verifies(self, signed_root: bytes) -> bool:
        return verify_inclusion(self.index, self.tree_size, self.leaf, self.path, signed_root)


def _fetch_all(fetch: Fetch, start: int, end: int) -> list[bytes]:
    got = list(fetch(start, end))
    if len(got) != end - start:
        raise ValueError(f"leaves {start}..{end - 1} are not all in the log ({len(got)} of {end - start})")
    return got


def inclusion_proof(index: int, size: int, fetch: Fetch, *, chunk: int = CHUNK, batch: int = BATCH) -> Proof:
    """PATH(index, D[0:size]) with D read through `fetch`."""
    path = []
    for start, length in sibling_ranges(index, size):
        root = _RangeRoot(chunk)
        for low in range(start, start + length, batch):
            root.extend(_fetch_all(fetch, low, min(low + batch, start + length)))
        path.append(root.root())
    [leaf] = _fetch_all(fetch, index, index + 1)
    return Proof(index=index, tree_size=size, leaf=leaf, path=path)
