"""Zero-copy views of Arrow binary columns for the binding, and back.

>>> import pyarrow as pa
>>> data, offsets, validity = binary_buffers(pa.array([b"ab", b"c"]).slice(1))
>>> bytes(data[offsets[0]:offsets[1]]), validity is None
(b'c', True)
>>> string_array((np.frombuffer(b"abc", np.uint8), np.array([0, 2, 3], np.int32))).to_pylist()
['ab', 'c']
>>> repeat_string("dead", 2).to_pylist()
['dead', 'dead']
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import pyarrow as pa


def binary_buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
    """Return (data uint8, offsets int32 of len n + 1, validity bitmap or None) without copying.

    A large_binary or chunked column is cast or combined first (that copies).
    An array with a non-zero bit offset in its validity bitmap is copied too.
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if pa.types.is_large_binary(arr.type) or pa.types.is_string(arr.type):
        arr = arr.cast(pa.binary())
    if not pa.types.is_binary(arr.type):
        raise TypeError(f"binary_buffers: expected a binary column, got {arr.type}")
    n = len(arr)
    validity_buf, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int32, count=n + 1, offset=arr.offset * 4) \
        if offsets_buf is not None else np.zeros(1, np.int32)
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None and data_buf.size \
        else np.zeros(0, np.uint8)
    validity = None
    if arr.null_count:
        if arr.offset % 8:
            arr = pa.concat_arrays([arr])  # re-aligned copy
            return binary_buffers(arr)
        validity = np.frombuffer(validity_buf, dtype=np.uint8, count=(n + 7) // 8,
                                 offset=arr.offset // 8)
    return data, offsets, validity


def string_array(column: tuple[np.ndarray, np.ndarray]) -> pa.Array:
    """Wrap a string column of the binding, (data uint8, offsets int32 of n + 1), as a
    pa.string() array without copying (the array keeps the numpy buffers alive)."""
    data, offsets = column
    n = len(offsets) - 1
    if n < 0:
        raise ValueError("string_array: offsets need n + 1 >= 1 entries")
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def repeat_string(value: str, n: int) -> pa.Array:
    """n copies of value as a pa.string() array, built from buffers (no Python str per row)."""
    raw = value.encode()
    offsets = np.arange(n + 1, dtype=np.int32) * len(raw)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(raw * n)])
