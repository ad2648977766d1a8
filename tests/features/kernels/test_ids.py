"""Packed id lookups agree exactly with pandas, whatever the ids look like."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.kernels.hashindex import HashIndex
from features.kernels.ids import factorize_ids, lookup_codes

CASES = {
    "short": (["a", None, "bb", "a", "", "é", "zz"], ["bb", "a", "", "é"]),
    "nul bytes": (["a", "a\0", "b", "a\0"], ["a\0", "a"]),
    "eight bytes": (["f0000001", "f0000002", "f0000003"], ["f0000003", "f0000001"]),
    "fixed width with gaps": (["p001", None, "p002", "", "p001"], ["p002", "", "p001"]),
    "fixed seven bytes": (["abcdefg", "abcdefh"], ["abcdefh"]),
    "nine to sixteen": (["abcdefghijklmnop", "abcdefghijklmnoq", "abcdefgh"], ["abcdefghijklmnoq"]),
    "long": (["x" * 30, "y", None], ["y", "x" * 30]),
    "objects": (pd.Series(["a", np.nan, "b"], dtype=object), ["b", "a"]),
    "empty vocabulary": (["a"], []),
}


@pytest.mark.parametrize("name", list(CASES))
def test_lookup_matches_pandas(name):
    values, vocabulary = CASES[name]
    values = pd.Series(values, dtype="str") if isinstance(values, list) else values
    vocabulary = pd.Index(vocabulary, dtype="str")
    expected = vocabulary.get_indexer(values)
    expected[values.isna().to_numpy()] = -1
    assert lookup_codes(values, vocabulary).tolist() == expected.tolist()


@pytest.mark.parametrize("name", list(CASES))
def test_factorize_numbers_distinct_ids(name):
    values, _ = CASES[name]
    values = pd.Series(values, dtype="str") if isinstance(values, list) else values
    positions = np.arange(len(values))[::-1]
    codes, holders = factorize_ids(values, positions)
    texts = values.iloc[positions].to_numpy(dtype=object)
    assert ((codes < 0) == pd.isna(texts)).all()
    for code in set(codes[codes >= 0]):
        # One code per distinct id, and the holder of each code carries that id.
        assert len({texts[i] for i in np.flatnonzero(codes == code)}) == 1
        assert texts[holders[code]] == texts[np.flatnonzero(codes == code)[0]]
    assert len(set(codes[codes >= 0])) == len(set(texts[~pd.isna(texts)]))


def test_many_random_ids_of_every_width():
    rng = np.random.default_rng(0)
    for width in (3, 8, 12, 16):
        ids = pd.Index([f"u{i:0{width - 1}d}" for i in rng.permutation(5000)], dtype="str")
        values = pd.Series(rng.choice([*ids[:900], "nope", "u"], 20_000), dtype="str")
        assert (lookup_codes(values, ids) == ids.get_indexer(values)).all()


def test_hash_index_refuses_repeated_keys():
    keys = np.random.default_rng(1).integers(0, 2**63, 1000).astype(np.uint64)
    assert HashIndex(np.r_[keys, keys[:3]]).get_indexer(keys) is None
    assert HashIndex(keys).get_indexer(keys[::-1]).tolist() == list(range(999, -1, -1))


def test_ids_in_several_arrow_chunks():
    import pyarrow as pa

    chunks = [["a", "bb"], [], ["abcdefghijk", None], ["a"]]
    values = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array(chunks, type=pa.string())))
    vocabulary = pd.Index(["abcdefghijk", "a", "zz"], dtype="str")
    assert lookup_codes(values, vocabulary).tolist() == [1, -1, 0, -1, 1]
    codes, _ = factorize_ids(values, np.arange(len(values)))
    assert codes[0] == codes[4] and codes[3] == -1 and len(set(codes[:3])) == 3


def _words(ids: list[str]) -> np.ndarray:
    from features.kernels.ids import pack_ids

    return pack_ids(pd.Index(ids, dtype="str")).low


@pytest.mark.parametrize(
    "make_id",
    [lambda i: f"f{i:07d}", lambda i: str(9_000 + i), lambda i: f"{i:x}"],
    ids=["prefix and digits", "numbers of varying length", "hex"],
)
def test_radix_index_matches_pandas(make_id):
    from features.kernels.radix import RadixIndex

    rng = np.random.default_rng(3)
    vocabulary = pd.Index([make_id(i) for i in rng.permutation(3000)], dtype="str")
    # Known ids, ids off by one lane value, and ids of other shapes.
    values = [*vocabulary[::7], make_id(3001), make_id(999_999), "f", "", "zzzzzzzz", "10000"]
    index = RadixIndex.build(_words(list(vocabulary)))
    assert index is not None
    expected = vocabulary.get_indexer(pd.Index(values, dtype="str"))
    assert index.get_indexer(_words(values)).tolist() == expected.tolist()


def test_radix_index_refuses_repeats_and_scattered_ids():
    from features.kernels.radix import RadixIndex

    assert RadixIndex.build(_words(["a1", "a2", "a1"])) is None
    rng = np.random.default_rng(4)
    scattered = ["".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), 8)) for _ in range(2000)]
    # Too many slots per id: lookups fall back to the hash index and stay exact.
    assert RadixIndex.build(_words(scattered)) is None
    values = pd.Series([*scattered[::3], "nope"], dtype="str")
    expected = pd.Index(scattered, dtype="str").get_indexer(values)
    assert lookup_codes(values, pd.Index(scattered, dtype="str")).tolist() == expected.tolist()
