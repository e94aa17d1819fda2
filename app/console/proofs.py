"""An event's RFC 6962 inclusion proof against a signed checkpoint, computed in one streaming pass over
the chain hashes (memory O(log n), not a tree held for the whole chain): each sibling on the audit path
is the Merkle root of a contiguous range of leaves, so every range gets its own `Frontier`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from audit.merkle import Frontier, verify_inclusion


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


@dataclass(frozen=True)
class Proof:
    index: int
    tree_size: int
    leaf: bytes
    path: list[bytes]
    root: bytes  # recomputed from every leaf of the tree

    def verifies(self, signed_root: bytes) -> bool:
        return self.root == signed_root and verify_inclusion(
            self.index, self.tree_size, self.leaf, self.path, signed_root
        )


def inclusion_proof(index: int, size: int, leaves: Iterable[bytes]) -> Proof:
    """`leaves` are the tree's `size` leaf hashes in order."""
    ranges = sibling_ranges(index, size)
    frontiers = [Frontier() for _ in ranges]
    bounds = sorted((start, start + length, i) for i, (start, length) in enumerate(ranges))
    whole = Frontier()
    leaf, position, current = b"", 0, 0
    for position, hashed in enumerate(leaves):
        whole.append(hashed)
        if position == index:
            leaf = hashed
            continue
        while bounds[current][1] <= position:
            current += 1
        frontiers[bounds[current][2]].append(hashed)
    if whole.size != size:
        raise ValueError(f"{whole.size} leaves given for a tree of size {size} (last at {position})")
    return Proof(
        index=index, tree_size=size, leaf=leaf, path=[f.root() for f in frontiers], root=whole.root()
    )
