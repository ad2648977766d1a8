"""Text ids to integer codes, exactly and fast: short ids are packed into 64-bit integers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from features.kernels.hashindex import HashIndex
from features.kernels.radix import RadixIndex

# Odd 64-bit constants (golden ratio, xxhash): multiplying by an odd number and xor-shifting
# are both one-to-one on uint64, and they spread packed ASCII bits over the whole word (pandas'
# integer hash table is slow on keys that differ only in a few bytes).
_MIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F))
_SHIFT = np.uint64(29)
_BYTE_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [2**64 - 1], dtype=np.uint64)
_MAX_PACKED = 16


@dataclass(frozen=True)
class PackedIds:
    """Ids as two little-endian words of their UTF-8 bytes (zero padded) and their length."""

    low: np.ndarray
    high: np.ndarray | None  # None when every id fits in the low word (saves memory)
    length: np.ndarray  # uint8 bytes
    missing: np.ndarray
    has_nul: bool  # a NUL byte inside an id makes zero padding ambiguous

    def take(self, positions: np.ndarray) -> PackedIds:
        """The ids at `positions`."""
        high = None if self.high is None else self.high[positions]
        parts = (self.low[positions], high, self.length[positions], self.missing[positions])
        return PackedIds(*parts, self.has_nul)

    def high_words(self) -> np.ndarray:
        return np.zeros(self.low.size, dtype=np.uint64) if self.high is None else self.high

    @property
    def short(self) -> bool:
        """Whether the low word alone tells ids apart: at most 8 bytes and no NUL bytes."""
        return not self.has_nul and (self.length.size == 0 or int(self.length.max()) <= 8)

    def keys(self, one_word: bool) -> np.ndarray:
        """One uint64 per id: one-to-one from the low word if `one_word` (only for `short` ids),
        else a hash of both words and the length, whose matches must be verified."""
        mixed = self.low * _MIX[0]
        if not one_word:
            mixed ^= (self.high_words() + self.length.astype(np.uint64)) * _MIX[1]
        mixed ^= mixed >> _SHIFT
        return mixed

    def equal(self, other: PackedIds) -> bool:
        """Whether every id equals the one at the same position of `other`."""
        return (
            np.array_equal(self.low, other.low)
            and np.array_equal(self.length, other.length)
            and (
                self.high is other.high is None
                or np.array_equal(self.high_words(), other.high_words())
            )
        )


def _arrow_chunks(values: pd.Series | pd.Index) -> list[pa.LargeStringArray] | None:
    try:
        strings = pa.array(values.array if isinstance(values, pd.Series) else values.values)
        chunks = strings.chunks if isinstance(strings, pa.ChunkedArray) else [strings]
        # Chunk by chunk: combining them first would copy every id once more.
        return [chunk.cast(pa.large_string()) for chunk in chunks]
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None  # mixed Python objects: leave them to pandas


def _fixed_words(chars: np.ndarray, length: np.ndarray) -> np.ndarray | None:
    """Low words without gathering, when every non-empty id has the same width (up to 8)."""
    width = int(length.max()) if length.size else 0
    present = length > 0
    count = int(np.count_nonzero(present))
    # The widths add up to chars.size; they equal width * count only if all are `width`.
    if width == 0 or width > 8 or chars.size != width * count:
        return None
    if width == 8 and count == length.size:
        return chars.view("<u8")  # back-to-back eight-byte ids: the bytes already are the words
    block = np.zeros((count, 8), dtype=np.uint8)
    block[:, :width] = chars.reshape(count, width)
    if count == length.size:
        return block.view("<u8").ravel()
    low = np.zeros(length.size, dtype=np.uint64)
    low[present] = block.view("<u8").ravel()
    return low


def _words(chars: np.ndarray, starts: np.ndarray, length: np.ndarray) -> np.ndarray:
    """The first eight bytes of each id (zero padded) as one little-endian uint64."""
    padded = np.zeros(chars.size + 2 * _MAX_PACKED, dtype=np.uint8)
    padded[: chars.size] = chars
    # Eight bytes starting at every byte offset, without copying: unaligned loads are fine.
    words = np.ndarray((padded.size - 7,), dtype="<u8", buffer=padded, strides=(1,))
    return words[starts] & _BYTE_MASKS[np.minimum(length, 8)]


def pack_ids(values: pd.Series | pd.Index) -> PackedIds | None:
    """Pack text ids; None if one is over 16 bytes or not text (callers then hash the text)."""
    chunks = _arrow_chunks(values)
    if chunks is None:
        return None
    parts = [pack_arrow(chunk) for chunk in chunks if len(chunk)]
    if any(part is None for part in parts):
        return None
    if len(parts) == 1:
        return parts[0]
    if not parts:
        empty = np.empty(0, dtype=np.uint64)
        return PackedIds(empty, None, empty.astype(np.uint8), empty.astype(bool), False)
    high = None
    if any(part.high is not None for part in parts):
        high = np.concatenate([part.high_words() for part in parts])
    return PackedIds(
        np.concatenate([part.low for part in parts]),
        high,
        np.concatenate([part.length for part in parts]),
        np.concatenate([part.missing for part in parts]),
        has_nul=any(part.has_nul for part in parts),
    )


def pack_arrow(strings: pa.LargeStringArray) -> PackedIds | None:
    """Pack an Arrow array of text ids; None if one is over 16 bytes."""
    bounds = np.frombuffer(strings.buffers()[1], dtype=np.int64)
    bounds = bounds[strings.offset : strings.offset + len(strings) + 1]
    length = np.diff(bounds)
    if length.size and length.max() > _MAX_PACKED:
        return None
    length = length.astype(np.uint8)
    data = strings.buffers()[2]
    chars = np.frombuffer(data, np.uint8)[bounds[0] : bounds[-1]] if data else np.empty(0, np.uint8)
    starts = bounds[:-1] - bounds[0]
    low = _fixed_words(chars, length)
    if low is None:
        low = _words(chars, starts, length)
    high = None
    if length.size and length.max() > 8:
        beyond = np.clip(length.astype(np.int64) - 8, 0, 8)
        high = _words(np.r_[chars, np.zeros(8, np.uint8)][8:], starts, beyond)
    if strings.null_count:
        missing = strings.is_null().to_numpy(zero_copy_only=False)
    else:
        missing = np.zeros(length.size, dtype=bool)
    return PackedIds(low, high, length, missing, has_nul=bool((chars == 0).any()))


def lookup_codes(values: pd.Series, vocabulary: pd.Index) -> np.ndarray:
    """Position of each value in `vocabulary` (unique ids), -1 if absent or missing."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        # Each distinct id looked up once, then spread over the rows by their codes.
        found = lookup_codes(pd.Series(values.cat.categories), vocabulary)
        return take_codes(found, values.cat.codes.to_numpy())
    packed, table = pack_ids(values), pack_ids(vocabulary)
    if packed is not None and table is not None and not table.missing.any():
        exact = packed.short and table.short
        radix = RadixIndex.build(np.ascontiguousarray(table.low)) if exact else None
        if radix is not None:
            codes = radix.get_indexer(np.ascontiguousarray(packed.low))
            codes[packed.missing] = -1
            return codes
        codes = HashIndex(table.keys(exact)).get_indexer(packed.keys(exact))
        if codes is not None:
            codes[packed.missing] = -1
            found = np.flatnonzero(codes >= 0)
            if exact or packed.take(found).equal(table.take(codes[found])):
                return codes
    codes = vocabulary.get_indexer(values)
    codes[np.asarray(pd.isna(values))] = -1
    return codes


def factorize_ids(values: pd.Series, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Number the distinct ids at `positions` of `values`.

    Returns:
        One code per position (-1 for a missing id), and for each code an index into
        `positions` where that id is found (-1 for a code nobody holds).
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        # Already numbered: one code per distinct id.
        codes = values.cat.codes.to_numpy()[positions].astype(np.int64)
        return codes, first_rows(codes, len(values.cat.categories))
    packed = pack_ids(values)
    if packed is not None:
        # Packing everything then taking is faster than gathering the texts at `positions`.
        packed = packed.take(positions)
        codes, uniques = pd.factorize(packed.keys(packed.short))
        codes[packed.missing] = -1
        holders = first_rows(codes, len(uniques))
        if packed.short:
            return codes.astype(np.int64), holders
        # A hash may join two ids: every holder must carry its code's chosen holder's words.
        kept = np.flatnonzero(codes >= 0)
        if packed.take(kept).equal(packed.take(holders[codes[kept]])):
            return codes.astype(np.int64), holders
    codes, uniques = pd.factorize(np.asarray(values.iloc[positions], dtype=object))
    return codes.astype(np.int64), first_rows(codes, len(uniques))


def take_codes(table: np.ndarray, codes: np.ndarray, dtype: type = np.int64) -> np.ndarray:
    """`table[codes]` as `dtype`, -1 where a code is -1 (missing): a spare -1 appended to the
    table makes that one gather, with no pass to mask the missing ones."""
    return np.append(table, -1).astype(dtype, copy=False)[codes]


def first_rows(codes: np.ndarray, n_codes: int) -> np.ndarray:
    """The first position holding each code, -1 for a code nobody holds; missing (-1)
    positions are ignored."""
    # Missing ids write into a spare last slot, dropped at the end. Writing backwards, the
    # earliest position's write lands last.
    first = np.full(n_codes + 1, -1, dtype=np.int64)
    first[codes[::-1]] = np.arange(codes.size)[::-1]
    return first[:n_codes]
