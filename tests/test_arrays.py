"""The per-record HDF5 file (battkg.arrays.write_blocks): every value comes back exactly, compressed."""

from __future__ import annotations

import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest

from battkg.arrays import CHUNK_VALUES, DEFLATE_LEVEL, ChunkWriter, write_blocks
from battkg.readers import ArrayData, Block


def test_arrays_round_trip_exactly_with_lossless_filters(tmp_path: Path) -> None:
    extremes = np.iinfo(np.int64)
    rng = np.random.default_rng(7)
    arrays = {
        "cycle_index": np.repeat(np.arange(1, 101, dtype=np.int64), 1000),  # a counter: shuffle + deflate
        "int64_extremes": np.tile(np.array([extremes.min, extremes.max, 0, -1], dtype=np.int64), 20000),
        "random_int64": rng.integers(extremes.min, extremes.max, 50000, dtype=np.int64),
        "uint8": (np.arange(70000) % 256).astype(np.uint8),
        "voltage": np.r_[rng.normal(3.7, 0.2, 99997), np.nan, np.inf, -0.0],  # floats: shuffle + deflate
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
        assert (counter.scaleoffset, counter.compression, counter.shuffle) == (None, "gzip", True)
        assert (voltage.scaleoffset, voltage.compression, voltage.shuffle) == (None, "gzip", True)
        assert voltage.compression_opts == DEFLATE_LEVEL
        assert counter.chunks == (CHUNK_VALUES,) and voltage.chunks == (CHUNK_VALUES,)
        assert h5["/timeseries/short"].chunks is None and h5["/timeseries/pattern_2d"].chunks is not None
        assert counter.id.get_storage_size() < counter.size * 8 / 50  # a counter compresses > 50x


def _block(arrays: dict[str, np.ndarray]) -> Block:
    return Block("timeseries", arrays=[ArrayData(name, values, "PureNumberQuantity", "dimensionless")
                                        for name, values in arrays.items()])


def test_float_chunks_compressed_on_threads_read_back_by_libhdf5(tmp_path: Path) -> None:
    """1-D floats are shuffled and deflated by battkg and written as raw chunks; libhdf5's own filter
    pipeline must decode every chunk, including a padded last one and a single short chunk."""
    rng = np.random.default_rng(11)
    base = rng.normal(0.0, 1.0, 3 * CHUNK_VALUES + 123)
    arrays = {
        "partial_last_chunk": base,
        "one_short_chunk": base[:5000].copy(),  # >= 1024 values: chunked, one chunk of 5000
        "strided_view": base[::2],  # not contiguous in memory
        "float32": base.astype(np.float32),
        "complex128": base[:40000] + 1j * base[40000:80000],
        "big_endian": base[:20000].astype(">f8"),  # not native: libhdf5 writes it
        "specials": np.tile(np.array([np.nan, np.inf, -np.inf, -0.0, 5e-324, np.finfo(float).max]), 2000),
    }
    write_blocks(tmp_path / "a.h5", [_block(arrays)])
    with h5py.File(tmp_path / "a.h5", "r") as h5:
        for name, values in arrays.items():
            stored = h5[f"/timeseries/{name}"]
            assert stored.dtype == values.dtype, name
            assert (stored.compression, stored.shuffle) == ("gzip", True), name
            assert np.array_equal(stored[()].view(np.uint8), np.ascontiguousarray(values).view(np.uint8)), name
            middle = slice(CHUNK_VALUES - 7, CHUNK_VALUES + 9)  # across a chunk boundary
            assert np.array_equal(stored[middle], values[middle], equal_nan=True), name
        assert h5["/timeseries/one_short_chunk"].chunks == (5000,)
        assert h5["/timeseries/partial_last_chunk"].id.get_num_chunks() == 4


def test_same_arrays_give_the_same_file_bytes(tmp_path: Path) -> None:
    """The blob key of the HDF5 file is its checksum: threads must not change the bytes."""
    rng = np.random.default_rng(3)
    arrays = {"voltage": rng.normal(3.7, 0.1, 300000), "cycle_index": np.repeat(np.arange(300, dtype=np.int64), 1000)}
    write_blocks(tmp_path / "a.h5", [_block(arrays)], attrs={"battkg_record": "r1"})
    write_blocks(tmp_path / "b.h5", [_block(arrays)], attrs={"battkg_record": "r1"})
    assert (tmp_path / "a.h5").read_bytes() == (tmp_path / "b.h5").read_bytes()


@pytest.mark.parametrize("n_values", [2 * CHUNK_VALUES + 1000, 5000])  # on the threads / one chunk inline
@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "uint8"])
def test_raw_chunks_are_the_ones_libhdf5_would_write(tmp_path: Path, n_values: int, dtype: str) -> None:
    """Chunk for chunk, battkg's shuffled, deflated chunks inflate to exactly what libhdf5's own shuffle +
    deflate pipeline stores for the same array (last chunk padded with the fill value, as libhdf5 does),
    so readers other than libhdf5 2.x find the layout they expect."""
    rng = np.random.default_rng(5)
    values = (rng.normal(3.7, 0.1, n_values) if dtype.startswith("float") else
              np.cumsum(rng.integers(0, 3, n_values))).astype(dtype)
    write_blocks(tmp_path / "a.h5", [_block({"voltage": values})])
    with h5py.File(tmp_path / "a.h5", "r") as ours, h5py.File(tmp_path / "libhdf5.h5", "w") as theirs:
        reference = theirs.create_dataset("voltage", data=values, chunks=(min(n_values, CHUNK_VALUES),),
                                          compression="gzip", compression_opts=DEFLATE_LEVEL, shuffle=True)
        written = ours["/timeseries/voltage"]
        assert written.id.get_num_chunks() == reference.id.get_num_chunks() == -(-n_values // CHUNK_VALUES)
        for offset in range(0, values.size, CHUNK_VALUES):
            mask, data = written.id.read_direct_chunk((offset,))
            reference_mask, reference_data = reference.id.read_direct_chunk((offset,))
            assert mask == reference_mask == 0
            assert zlib.decompress(data) == zlib.decompress(reference_data), offset


def test_chunk_writer_appends_rows_of_a_growing_2d_dataset(tmp_path: Path) -> None:
    """The operando-series path: chunk-sized row blocks appended to a resizable dataset, the last one short."""
    rows = np.random.default_rng(2).poisson(300.0, (23, 500)).astype(np.float64)
    with h5py.File(tmp_path / "s.h5", "w") as h5, ChunkWriter(threads=2) as writer:
        signal = h5.create_dataset("intensity", shape=(0, 500), maxshape=(None, 500), dtype="f8", chunks=(5, 500),
                                   compression="gzip", compression_opts=DEFLATE_LEVEL, shuffle=True)
        for start in range(0, 23, 5):
            signal.resize(start + rows[start:start + 5].shape[0], axis=0)
            writer.submit(signal, rows[start:start + 5], start)
        with pytest.raises(ValueError, match="not one chunk"):
            writer.submit(signal, rows[:5], 3)  # not at a chunk boundary
        with pytest.raises(ValueError, match="do not fit"):
            writer.submit(signal, rows[:5, :499], 0)  # a short row would be zero-padded silently
        writer.drain()
        np.testing.assert_array_equal(signal[()], rows)
        lzf = h5.create_dataset("lzf", shape=(10, 500), dtype="f8", chunks=(5, 500), compression="lzf")
        with pytest.raises(ValueError, match="cannot write"):
            writer.submit(lzf, rows[:5], 0)  # other filters: raw chunks would be unreadable


def test_precompressed_arrays_give_the_same_file_and_stay_unchanged_meanwhile(tmp_path: Path) -> None:
    """Compression started before the datasets exist (the cycling ingest starts it while derive() runs)
    writes the same bytes as the plain path, and an in-place change in between is refused, not lost."""
    rng = np.random.default_rng(9)
    voltage = rng.normal(3.7, 0.1, 100000)
    arrays = {"voltage": voltage, "current": rng.normal(0.0, 1e-3, 70000),
              "cycle_index": np.repeat(np.arange(70, dtype=np.int64), 1000)}
    write_blocks(tmp_path / "plain.h5", [_block(arrays)], attrs={"battkg_record": "r"})
    with ChunkWriter() as writer:
        writer.precompress([_block(arrays)])
        with pytest.raises(ValueError, match="read-only"):
            voltage[0] = 0.0
        summary = Block("cycle_summary", arrays=[ArrayData("capacity", rng.random(5000), "PureNumberQuantity",
                                                           "dimensionless")])
        write_blocks(tmp_path / "early.h5", [_block(arrays)], attrs={"battkg_record": "r"}, chunk_writer=writer)
    assert voltage.flags.writeable  # given back
    assert (tmp_path / "early.h5").read_bytes() == (tmp_path / "plain.h5").read_bytes()
    with ChunkWriter() as writer:
        writer.precompress([_block(arrays)])
        write_blocks(tmp_path / "more.h5", [_block(arrays), summary], chunk_writer=writer)  # a block added later
    with h5py.File(tmp_path / "more.h5", "r") as h5:
        np.testing.assert_array_equal(h5["/timeseries/voltage"][()], voltage)
        np.testing.assert_array_equal(h5["/cycle_summary/capacity"][()], summary.arrays[0].values)


def test_nd_arrays_are_chunked_by_whole_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """MD positions (frames × atoms × 3): one frame per chunk, compressed on the threads; rows too long
    for a chunk are left to h5py's chunking and libhdf5's filters."""
    positions = np.random.default_rng(4).uniform(0.0, 30.0, (7, 12000, 3))  # 288 kB per frame
    pattern = np.random.default_rng(5).random((45, 300))
    write_blocks(tmp_path / "a.h5", [_block({"positions": positions, "pattern": pattern})])
    with h5py.File(tmp_path / "a.h5", "r") as h5:
        assert h5["/timeseries/positions"].chunks == (1, 12000, 3)
        assert h5["/timeseries/pattern"].chunks == (45, 300)  # 109 rows would fit: all 45 in one chunk
        np.testing.assert_array_equal(h5["/timeseries/positions"][()], positions)
        np.testing.assert_array_equal(h5["/timeseries/pattern"][()], pattern)
    monkeypatch.setattr("battkg.arrays.MAX_ROW_BYTES", 100_000)
    write_blocks(tmp_path / "b.h5", [_block({"positions": positions})])
    with h5py.File(tmp_path / "b.h5", "r") as h5:
        stored = h5["/timeseries/positions"]
        assert stored.chunks is not None and stored.chunks[1:] != (12000, 3)  # h5py's own choice
        np.testing.assert_array_equal(stored[()], positions)


def test_an_error_drops_the_compression_not_yet_started(monkeypatch: pytest.MonkeyPatch) -> None:
    """After precompress(), an error (a file check() refuses, Ctrl-C) must reach the user without waiting
    for every chunk of the file to be compressed."""
    import battkg.arrays as arrays_module

    compressed: list[int] = []
    real = arrays_module._shuffled_deflate

    def counting(chunk: np.ndarray, shape: tuple[int, ...]) -> bytes:
        compressed.append(1)
        return real(chunk, shape)

    monkeypatch.setattr(arrays_module, "_shuffled_deflate", counting)
    values = np.random.default_rng(1).random(200 * CHUNK_VALUES)  # 200 chunks
    with pytest.raises(KeyboardInterrupt):
        with ChunkWriter(threads=1) as writer:
            writer.precompress([_block({"voltage": values})])
            raise KeyboardInterrupt
    assert len(compressed) < 100 and values.flags.writeable
