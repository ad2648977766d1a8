"""Text ids numbered in order of first appearance, batch by batch, exactly and fast."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features.kernels.ids import first_rows, pack_arrow, take_codes
from features.kernels.radix import RadixIndex


class IdVocabulary:
    """Text ids numbered in order of first appearance, one batch at a time.

    Ids of up to eight bytes are found by their bytes as one integer, longer ones by a 64-bit
    hash whose every match is checked against the id's text; both in sorted arrays that grow
    by insertion. Once ids repeat from batch to batch, a batch of short ids is looked up row
    by row in a RadixIndex of those known, and only the rows left over are numbered.
    """

    def __init__(self) -> None:
        self.size = 0
        self._texts: list[pa.Array] = []  # the new ids of each batch, in code order
        self._tables = {short: (np.empty(0, np.uint64), np.empty(0, np.int64)) for short in (1, 0)}
        self._radix: tuple[int, RadixIndex | None] = (0, None)  # (short ids indexed, index)

    def add(self, ids: pa.Array) -> np.ndarray:
        """The int32 code of each id of a batch (-1 where missing), numbering the new ones."""
        known = self._add_known(ids)
        if known is not None:
            return known
        words, indices = _distinct(ids)
        codes = self._lookup(words) if pa.types.is_dictionary(ids.type) else None
        if codes is None or (codes < 0).any():
            # New ids are numbered in order of their first row: only then are rows searched.
            codes = self._codes(words, first_rows(indices, len(words)))
        return take_codes(codes, indices, np.int32)

    def _lookup(self, words: pa.Array) -> np.ndarray:
        """The code of each word, -1 for a new one (nothing is numbered)."""
        codes = np.full(len(words), -1, dtype=np.int64)
        short = _short(words)
        for kind in (1, 0):
            where = np.flatnonzero(short == bool(kind))
            if where.size:
                taken = words.take(pa.array(where))
                found = self._find(kind, _packed_low(taken) if kind else _hashes(taken))
                if not kind:
                    self._check(words, where, found)
                codes[where] = found
        return codes

    def _add_known(self, ids: pa.Array) -> np.ndarray | None:
        """`add` for plain short ids when a RadixIndex of the known ones can be made."""
        if pa.types.is_dictionary(ids.type):
            return None
        ids = ids.cast(pa.large_string())
        packed = pack_arrow(ids)
        index = self._radix_index()
        if packed is None or not packed.short or index is None:
            return None
        codes = take_codes(self._tables[1][1], index.get_indexer(packed.low))
        codes[packed.missing] = -1  # a missing id packs like "": never its code
        new = np.flatnonzero((codes < 0) & ~packed.missing)
        if new.size:
            words, indices = _distinct(ids.take(pa.array(new)))
            fresh = self._codes(words, first_rows(indices, len(words)))
            codes[new] = take_codes(fresh, indices)
        return codes.astype(np.int32)

    def _radix_index(self) -> RadixIndex | None:
        keys = self._tables[1][0]
        if self._radix[0] != keys.size:
            self._radix = (keys.size, RadixIndex.build(keys) if keys.size else None)
        return self._radix[1]

    def _codes(self, words: pa.Array, first: np.ndarray) -> np.ndarray:
        """The code of each distinct word; words of no row (first == -1) get none."""
        codes = np.full(len(words), -1, dtype=np.int64)
        short = _short(words)
        new = []
        for kind in (1, 0):
            where = np.flatnonzero((short == bool(kind)) & (first >= 0))
            if not where.size:
                continue
            taken = words.take(pa.array(where))
            keys = _packed_low(taken) if kind else _hashes(taken)
            found = self._find(kind, keys)
            if not kind:
                self._check(words, where, found)
            codes[where] = found
            new.append((where[found < 0], keys[found < 0], kind))
        fresh = np.concatenate([where for where, _, _ in new]) if new else np.empty(0, np.int64)
        order = np.argsort(first[fresh], kind="stable")
        numbers = np.empty(fresh.size, dtype=np.int64)
        numbers[order] = self.size + np.arange(fresh.size)
        codes[fresh] = numbers
        start = 0
        for where, keys, kind in new:
            self._insert(kind, keys, numbers[start : start + where.size])
            start += where.size
        self._texts.append(words.take(pa.array(fresh[order])))
        self.size += fresh.size
        return codes

    def _find(self, kind: int, keys: np.ndarray) -> np.ndarray:
        table, numbers = self._tables[kind]
        at = np.minimum(np.searchsorted(table, keys), max(table.size - 1, 0))
        if not table.size:
            return np.full(keys.size, -1, dtype=np.int64)
        return np.where(table[at] == keys, numbers[at], -1)

    def _insert(self, kind: int, keys: np.ndarray, numbers: np.ndarray) -> None:
        table, known = self._tables[kind]
        order = np.argsort(keys)
        keys, numbers = keys[order], numbers[order]
        if np.any(keys[1:] == keys[:-1]):
            raise IdCollision
        at = np.searchsorted(table, keys)
        self._tables[kind] = (np.insert(table, at, keys), np.insert(known, at, numbers))

    def _check(self, words: pa.Array, where: np.ndarray, found: np.ndarray) -> None:
        """Hashed ids matched must be the same text (two ids in 2^64 could share a hash)."""
        matched = found >= 0
        if matched.any():
            ours = words.take(pa.array(where[matched]))
            theirs = pa.chunked_array(self._texts, pa.large_string()).take(pa.array(found[matched]))
            if not pc.all(pc.equal(ours, theirs)).as_py():
                raise IdCollision

    def categories(self) -> pd.Index:
        """Every id's text, by code."""
        texts = pa.chunked_array(self._texts, pa.large_string()).combine_chunks()
        return pd.Index(texts.to_pandas(), dtype="str")


class IdCollision(Exception):
    """Two different ids with one 64-bit hash: the log is read the general way."""


def _distinct(ids: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """The distinct ids of a batch (as large strings) and each row's position among them
    (-1 where missing), by packing short ids into integers; Arrow hashes longer ones."""
    if not pa.types.is_dictionary(ids.type):
        ids = ids.cast(pa.large_string())
        packed = pack_arrow(ids)
        if packed is not None:
            indices, _ = pd.factorize(packed.keys(packed.short))
            indices[packed.missing] = -1
            first = first_rows(indices, int(indices.max(initial=-1)) + 1)
            kept = np.flatnonzero(indices >= 0)
            # Over eight bytes the integer is a hash: every row must match its id's first row.
            if packed.short or packed.take(kept).equal(packed.take(first[indices[kept]])):
                return ids.take(pa.array(first, mask=first < 0)), indices.astype(np.int64)
        ids = pc.dictionary_encode(ids)
    # Signed first: Arrow allows unsigned indices (uint32 from some exporters), where -1 is not.
    indices = pc.fill_null(ids.indices.cast(pa.int64()), -1).to_numpy()
    return ids.dictionary.cast(pa.large_string()), indices


def _short(words: pa.Array) -> np.ndarray:
    """Whether each word is its own eight-byte integer: at most 8 bytes, no NUL byte. Decided
    by the word alone, so an id is short or long in every batch, whatever else it holds."""
    fits = pc.fill_null(pc.less_equal(pc.binary_length(words), 8), False)
    nul = pc.fill_null(pc.match_substring(words, "\x00"), False)
    return pc.and_(fits, pc.invert(nul)).to_numpy(zero_copy_only=False)


def _packed_low(words: pa.Array) -> np.ndarray:
    """The eight-byte integer of each short word."""
    packed = pack_arrow(words)
    assert packed is not None  # every word is at most 8 bytes
    return packed.low


def _hashes(words: pa.Array) -> np.ndarray:
    return pd.util.hash_array(np.asarray(words.to_pylist(), dtype=object))
