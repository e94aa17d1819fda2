"""RFC 6962 Merkle trees: the published test vectors (transparency-dev/merkle, testonly/constants.go and
proof/verify_test.go, Apache-2.0) and property-based checks of inclusion and consistency proofs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.merkle import (
    EMPTY_ROOT,
    Frontier,
    MerkleTree,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)

LEAF_INPUTS = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
# (leaf index, tree size, proof); leaf indexes 0-based.
INCLUSION = [
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]

VECTOR_LEAVES = [leaf_hash(bytes.fromhex(x)) for x in LEAF_INPUTS]
VECTOR_TREE = MerkleTree(VECTOR_LEAVES)


def _hx(values: list[str]) -> list[bytes]:
    return [bytes.fromhex(v) for v in values]


def test_empty_tree_root_is_the_hash_of_nothing() -> None:
    assert MerkleTree([]).root() == EMPTY_ROOT == bytes.fromhex(ROOTS[0])
    assert Frontier().root() == EMPTY_ROOT


@pytest.mark.parametrize("size", range(9))
def test_roots_match_the_rfc6962_vectors(size: int) -> None:
    assert VECTOR_TREE.root(size).hex() == ROOTS[size]
    frontier = Frontier()
    frontier.extend(VECTOR_LEAVES[:size])
    assert frontier.root().hex() == ROOTS[size]


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_inclusion_proofs_match_the_vectors_and_verify(index: int, size: int, proof: list[str]) -> None:
    assert VECTOR_TREE.inclusion_proof(index, size) == _hx(proof)
    root = bytes.fromhex(ROOTS[size])
    assert verify_inclusion(index, size, VECTOR_LEAVES[index], _hx(proof), root)
    assert not verify_inclusion(index + 1, size, VECTOR_LEAVES[index], _hx(proof), root)
    assert not verify_inclusion(index, size * 2, VECTOR_LEAVES[index], _hx(proof), root)
    assert not verify_inclusion(index, size, VECTOR_LEAVES[index], [*_hx(proof), root], root)


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_consistency_proofs_match_the_vectors_and_verify(old: int, new: int, proof: list[str]) -> None:
    assert VECTOR_TREE.consistency_proof(old, new) == _hx(proof)
    old_root, new_root = bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new])
    assert verify_consistency(old, new, old_root, new_root, _hx(proof))
    if proof:
        assert not verify_consistency(old, new, new_root, old_root, _hx(proof))
        assert not verify_consistency(old, new, old_root, new_root, _hx(proof)[:-1])
        assert not verify_consistency(old + 1, new, old_root, new_root, _hx(proof))


def _leaves(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=1, max_value=300).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1)))
)
def test_every_inclusion_proof_verifies_and_a_flipped_bit_does_not(case: tuple[int, int]) -> None:
    size, index = case
    tree = MerkleTree(_leaves(size))
    proof = tree.inclusion_proof(index, size)
    root = tree.root()
    assert verify_inclusion(index, size, tree.levels[0][index], proof, root)
    other = (index + 1) % size
    if other != index:
        assert not verify_inclusion(other, size, tree.levels[0][index], proof, root)
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 1]) + bad[i][1:]
        assert not verify_inclusion(index, size, tree.levels[0][index], bad, root)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=300).flatmap(lambda n: st.tuples(st.integers(1, n), st.just(n))))
def test_every_consistency_proof_verifies_and_a_changed_old_tree_does_not(case: tuple[int, int]) -> None:
    old, new = case
    leaves = _leaves(new)
    tree = MerkleTree(leaves)
    proof = tree.consistency_proof(old, new)
    assert verify_consistency(old, new, tree.root(old), tree.root(new), proof)
    # A different history of the first `old` leaves is not consistent with the new tree.
    forged = MerkleTree([leaf_hash(b"forged"), *leaves[1:old]])
    assert not verify_consistency(old, new, forged.root(old), tree.root(new), proof)
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 1]) + bad[i][1:]
        assert not verify_consistency(old, new, tree.root(old), tree.root(new), bad)


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=600))
def test_the_frontier_follows_the_tree_root(size: int) -> None:
    leaves = _leaves(size)
    frontier = Frontier()
    frontier.extend(leaves)
    assert frontier.size == size
    assert len(frontier.nodes) == bin(size).count("1")
    assert frontier.root() == MerkleTree(leaves).root()
