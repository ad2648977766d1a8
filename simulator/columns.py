"""Arrow columns built fast from NumPy: fixed-width ids, names for codes, UTC times."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from simulator.config import SimulationConfig

DAY_US = 86_400_000_000


# The four ASCII digits of 0..9999 packed in one uint32 each (gathering 4-byte items is fast).
DIGITS = np.frombuffer(b"".join(b"%04d" % number for number in range(10_000)), dtype=np.uint32)


def start_us(config: SimulationConfig) -> int:
    return pd.Timestamp(config.start, tz="UTC").as_unit("ns").value // 1000


def make_ids(
    prefix: str, numbers: np.ndarray, width: int, valid: np.ndarray | None = None
) -> pa.Array:
    """Fixed-width ids like "f0000001", built from bytes without a Python string per row."""
    chars = np.empty((numbers.size, width + 1), dtype=np.uint8)
    chars[:, 0] = ord(prefix)
    rest = numbers.astype(np.int64)
    # Four digits per pass through a lookup table: ids are built for tens of millions of rows.
    for end in range(width + 1, 1, -4):
        begin = max(1, end - 4)
        rest, low = np.divmod(rest, 10_000)
        chars[:, begin:end] = DIGITS[low].view(np.uint8).reshape(-1, 4)[:, 4 - (end - begin) :]
    offsets = np.arange(numbers.size + 1, dtype=np.int64) * (width + 1)
    bitmap = None if valid is None else pa.py_buffer(np.packbits(valid, bitorder="little"))
    buffers = [bitmap, pa.py_buffer(offsets), pa.py_buffer(chars)]
    return pa.Array.from_buffers(pa.large_string(), numbers.size, buffers)


def code_names(names: tuple[str, ...], codes: np.ndarray) -> pa.Array:
    """Names for integer codes; negative codes become missing values."""
    return pa.array(names, pa.large_string()).take(pa.array(codes, mask=codes < 0))


def utc_times(micros: np.ndarray) -> pa.Array:
    return pa.array(micros.astype(np.int64), pa.timestamp("us", tz="UTC"))


def arrow_frame(columns: dict[str, pa.Array]) -> pd.DataFrame:
    """A DataFrame of arrow columns; consumes `columns` so arrow buffers can be freed early."""
    nullable = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}
    table = pa.table(columns)
    columns.clear()
    return table.to_pandas(types_mapper=nullable.get, split_blocks=True, self_destruct=True)


def id_width(minimum: int, count: int) -> int:
    return max(minimum, len(str(count)))
