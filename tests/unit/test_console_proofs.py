"""The streaming inclusion proof equals the tree's own (RFC 6962) proof and verifies; a changed leaf or
root does not; a log shorter than the tree or a leaf outside the tree is refused."""

from __future__ import annotations

import hashlib

import pytest

from app.console.proofs import Fetch, inclusion_proof
from audit.merkle import MerkleTree, verify_inclusion


def _leaves(n: int) -> list[bytes]:
    return [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(n)]


def _reader(leaves: list[bytes]) -> Fetch:
    return lambda start, end: leaves[start:end]


@pytest.mark.parametrize("chunk", [1, 2, 4, 4096])
@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 8, 13, 64, 100])
def test_every_leaf_matches_the_tree(size: int, chunk: int) -> None:
    leaves = _leaves(size)
    tree = MerkleTree(leaves)
    for index in range(size):
        proof = inclusion_proof(index, size, _reader(leaves), chunk=chunk, batch=max(chunk, 8))
        assert proof.path == tree.inclusion_proof(index, size)
        assert proof.verifies(tree.root())
        assert verify_inclusion(index, size, leaves[index], proof.path, tree.root())


def test_a_changed_leaf_or_root_does_not_verify() -> None:
    leaves = _leaves(9)
    root = MerkleTree(leaves).root()
    tampered = [*leaves[:4], hashlib.sha256(b"x").digest(), *leaves[5:]]
    assert not inclusion_proof(2, 9, _reader(tampered), chunk=2).verifies(root)
    assert not inclusion_proof(4, 9, _reader(leaves)).verifies(hashlib.sha256(b"other").digest())


def test_wrong_leaf_count_and_index_are_refused() -> None:
    with pytest.raises(ValueError, match=r"leaves 8\.\.8 are not all in the log \(0 of 1\)"):
        inclusion_proof(1, 9, _reader(_leaves(8)))
    with pytest.raises(ValueError, match="no leaf 9"):
        inclusion_proof(9, 9, _reader(_leaves(9)))
