"""Direct-address lookups of short packed ids: each 16-bit lane of an id is a digit of its slot."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from features.kernels.parallel import map_chunks

_LANES = 4  # 16-bit lanes in a packed 64-bit id
_ABSENT = np.int64(-(1 << 40))  # a lane value no vocabulary id has: any sum with it is negative
# The slot table may hold this many slots per vocabulary id (plus a floor for small ones):
# real ids (numbers, a prefix and digits) need about one, random text would need billions.
_SLOTS_PER_ID = 16
_MIN_SLOTS = 1 << 16
_CHUNK = 1 << 16  # ids looked up together, so the temporaries stay in cache


@dataclass(frozen=True)
class RadixIndex:
    """Exact positions of ids among a vocabulary's, by arithmetic instead of hashing.

    Packed ids of at most eight bytes without NUL bytes differ in at least one 16-bit lane.
    Lanes that hold one value across the vocabulary are checked by a mask; each other lane's
    value maps through a 65,536-entry table to its digit (rank times stride) in a mixed-radix
    slot number. That is a few cached table reads per id instead of random probes of a hash
    table, several times faster on tens of millions of events.
    """

    fixed_mask: np.uint64  # bits of the lanes every vocabulary id shares
    fixed_bits: np.uint64
    lane_tables: tuple[tuple[int, np.ndarray], ...]  # (lane, int64 digit per lane value)
    positions: np.ndarray  # vocabulary position per slot; the extra last slot holds -1

    @classmethod
    def build(cls, words: np.ndarray) -> RadixIndex | None:
        """Index of the distinct packed `words` (uint64); None if they need too many slots."""
        lanes = words.view(np.uint16).reshape(-1, _LANES)
        limit = max(_MIN_SLOTS, _SLOTS_PER_ID * words.size)
        fixed_mask, slots, tables = 0, 1, []
        for lane in range(_LANES):
            # The distinct values of a lane, by counting: faster than sorting a million ids.
            values = np.flatnonzero(np.bincount(lanes[:, lane], minlength=1 << 16))
            if values.size <= 1:
                fixed_mask |= 0xFFFF << (16 * lane)
                continue
            table = np.full(1 << 16, _ABSENT, dtype=np.int64)
            table[values] = np.arange(values.size, dtype=np.int64) * slots
            slots *= values.size
            if slots > limit:
                return None
            tables.append((lane, table))
        mask = np.uint64(fixed_mask)
        fixed = words[0] & mask if words.size else np.uint64(0)
        index = cls(mask, fixed, tuple(tables), np.empty(0, dtype=np.int64))
        slot = index._slots(words)
        # int32 positions: half the cache misses of int64 in the one random read per id.
        positions = np.full(slots + 1, -1, dtype=np.int32 if words.size < 2**31 else np.int64)
        positions[slot] = np.arange(words.size)
        if not (positions[slot] == np.arange(words.size)).all():
            return None  # a repeated id: its slot holds only one position
        return cls(mask, fixed, tuple(tables), positions)

    def get_indexer(self, words: np.ndarray) -> np.ndarray:
        """Vocabulary position of each packed id, -1 where it is not in the vocabulary."""
        return map_chunks(self._find, words, _CHUNK)

    def _find(self, words: np.ndarray) -> np.ndarray:
        slot = self._slots(words)
        missing = self.positions.size - 1  # the slot that holds -1
        slot[(slot < 0) | ((words & self.fixed_mask) != self.fixed_bits)] = missing
        return self.positions[slot]

    def _slots(self, words: np.ndarray) -> np.ndarray:
        """Mixed-radix slot per id (negative if a lane holds a value no vocabulary id has)."""
        lanes = words.view(np.uint16).reshape(-1, _LANES)
        slot = np.zeros(words.size, dtype=np.int64)
        for lane, table in self.lane_tables:
            # np.take with intp positions is about twice as fast as indexing by uint16 lanes.
            slot += np.take(table, lanes[:, lane].astype(np.intp))
        return slot
