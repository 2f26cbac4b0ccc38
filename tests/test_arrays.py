"""The per-record HDF5 file (battkg.arrays.write_blocks): every value comes back exactly, compressed."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from battkg.arrays import CHUNK_VALUES, write_blocks
from battkg.readers import ArrayData, Block


def test_arrays_round_trip_exactly_with_lossless_filters(tmp_path: Path) -> None:
    extremes = np.iinfo(np.int64)
    rng = np.random.default_rng(7)
    arrays = {
        "cycle_index": np.repeat(np.arange(1, 101, dtype=np.int64), 1000),  # a counter: scale-offset + lzf
        "int64_extremes": np.tile(np.array([extremes.min, extremes.max, 0, -1], dtype=np.int64), 20000),
        "random_int64": rng.integers(extremes.min, extremes.max, 50000, dtype=np.int64),
        "uint8": (np.arange(70000) % 256).astype(np.uint8),
        "voltage": np.r_[rng.normal(3.7, 0.2, 99997), np.nan, np.inf, -0.0],  # floats: shuffle + lzf
        "short": np.arange(10, dtype=np.int64),  # below 1024 values: contiguous, unfiltered
        "pattern_2d": rng.random((40, 300)),
    }
    block = Block("timeseries", arrays=[ArrayData(name, values, "PureNumberQuantity", "dimensionless")
                                        for name, values in arrays.items()])
    described = write_blocks(tmp_path / "a.h5", [block])
    assert [(d.name, d.dtype, d.shape) for d in described] == [
        (name, str(values.dtype), values.shape) for name, values in arrays.items()]
    with h5py.File(tmp_path / "a.h5", "r") as h5:
        for name, values in arrays.items():
            stored = h5[f"/timeseries/{name}"]
            assert stored.dtype == values.dtype, name
            assert np.array_equal(stored[()].view(np.uint8), values.view(np.uint8)), name  # bit for bit
        counter, voltage = h5["/timeseries/cycle_index"], h5["/timeseries/voltage"]
        assert (counter.scaleoffset, counter.compression, counter.shuffle) == (0, "lzf", False)
        assert (voltage.scaleoffset, voltage.compression, voltage.shuffle) == (None, "lzf", True)
        assert counter.chunks == (CHUNK_VALUES,) and voltage.chunks == (CHUNK_VALUES,)
        assert h5["/timeseries/short"].chunks is None and h5["/timeseries/pattern_2d"].chunks is not None
        assert counter.id.get_storage_size() < counter.size * 8 / 50  # a counter compresses > 50x
