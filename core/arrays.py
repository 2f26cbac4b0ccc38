"""Bulk arrays → one HDF5 file per record (h5py; chunked, compressed).

Arrays never become triples: the graph gets one :class:`ArrayDescription` per
dataset (quantity, unit, shape, dtype, HDF5 path).  Arrays are stored in the
unit the source gave, and that unit is recorded; scalar quantities in the
graph are the ones converted to canonical units.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from battkg.readers import Block

try:  # ISA-L: 5-10x zlib's speed at level 1, about the same size, a standard zlib stream (libhdf5 inflates it)
    from isal import isal_zlib as deflate_codec
except ImportError:  # pragma: no cover - a declared dependency; only a platform without its wheel lacks it
    import zlib as deflate_codec

# Deflate (HDF5's "gzip" filter) at level 1 after the shuffle filter.  Deflate is built into every
# HDF5 library (h5py, MATLAB, HDFView, netCDF-4, HDF5.jl), where lzf needs h5py or a plugin: the
# archived HDF5 must open anywhere.  Level 1 makes files a few per cent smaller than lzf.  Inside
# libhdf5 (zlib, GIL held) it is 1.1-2x slower than lzf; battkg deflates float chunks itself with ISA-L
# on a thread pool (ChunkWriter), 5-10x faster than zlib.
COMPRESSION = "gzip"
DEFLATE_LEVEL = 1
# The filters of every chunked numeric dataset battkg writes (the record's arrays, the operando series):
# ChunkWriter writes raw chunks for exactly these (raw_chunks_possible).
FILTERS: dict[str, object] = {"compression": COMPRESSION, "compression_opts": DEFLATE_LEVEL, "shuffle": True}
# Chunk length of 1-D arrays (32768 values, 256 KiB of float64).  h5py's automatic choice for
# a 10^6-value series is ~4000 values: 250 chunks whose per-chunk overhead made the 8 arrays
# of a cycling file 15-20 % slower to write (0.33 vs 0.28 s) and 1.6x bigger (6.3 vs 4.0 MB).
# Longer chunks write no faster and make reading a short slice dearer (a whole chunk is read).
CHUNK_VALUES = 1 << 15
# Numeric arrays (1-D, or N-D chunked by whole rows) are shuffled and deflated by :class:`ChunkWriter`
# on a thread pool and written as raw chunks: floats, complex numbers and integers alike.  Integer
# counters used HDF5's scale-offset filter + deflate inside libhdf5 until 2026-12-03; shuffle + ISA-L
# deflate is 2x faster on them and as small or smaller (a random-walk counter: 0.46 vs 1.5 MB).
THREADED_KINDS = "fciu"
DEFLATE_THREADS = max(1, min(4, os.cpu_count() or 1))
# An N-D array is chunked by whole rows up to this row size (an MD frame of 700 000 atoms), else by h5py.
MAX_ROW_BYTES = 16 << 20
# ChunkWriter.precompress() holds the compressed chunks of at most this many input bytes in memory.
PRECOMPRESS_MAX_BYTES = 1 << 30
# Below this, a dataset is stored contiguous and unfiltered (chunk overhead would exceed any saving).
MIN_CHUNKED_VALUES = 1024


@dataclass(frozen=True)
class ArrayDescription:
    block: str
    name: str
    hdf5_path: str
    quantity: str  # context key
    unit: str  # pint expression as stored
    shape: tuple[int, ...]
    dtype: str
    description: str = ""


def _shuffled_deflate(chunk: np.ndarray, chunk_shape: tuple[int, ...]) -> bytes:
    """One chunk exactly as HDF5's shuffle then deflate filters store it.

    Shuffle: byte 0 of every value, then byte 1 of every value, ...; deflate: a zlib stream, as HDF5's
    filter writes with zlib's ``compress2`` and reads with ``inflate`` (ISA-L writes the same format).  An edge chunk is padded to full shape with zeros, as libhdf5 pads it with
    the fill value."""
    if chunk.shape != chunk_shape:
        padded = np.zeros(chunk_shape, chunk.dtype)
        padded[tuple(slice(0, n) for n in chunk.shape)] = chunk
        chunk = padded
    shuffled = np.ascontiguousarray(chunk).reshape(-1).view(np.uint8).reshape(-1, chunk.itemsize).T.tobytes()
    return deflate_codec.compress(shuffled, DEFLATE_LEVEL)


def raw_chunks_possible(dataset: h5py.Dataset, values: np.ndarray) -> bool:
    """Whether :class:`ChunkWriter` may write ``values`` into ``dataset``: chunked along the first axis
    only, filters exactly shuffle + deflate, and ``values`` native-order numbers of the dataset's own
    dtype (raw chunks bypass libhdf5's type conversion)."""
    chunks = dataset.chunks
    return (chunks is not None and tuple(chunks[1:]) == tuple(dataset.shape[1:])
            and dataset.compression == COMPRESSION and dataset.compression_opts == DEFLATE_LEVEL
            and dataset.shuffle and not dataset.scaleoffset and not dataset.fletcher32
            and values.dtype == dataset.dtype and values.dtype.kind in THREADED_KINDS and values.dtype.isnative)


class ChunkWriter:
    """Shuffles and deflates chunks on a thread pool and writes them as raw chunks, in submission order.

    numpy and ISA-L (or zlib) release the GIL, libhdf5 compressing inside h5py does not: on a 2-core
    machine this takes the compression off the thread that parses the next file or builds the record.  At most
    ``4 × threads`` chunks are in flight, so memory stays bounded."""

    def __init__(self, threads: int | None = None) -> None:
        self._threads = threads or DEFLATE_THREADS
        self._started_pool: ThreadPoolExecutor | None = None  # started on the first multi-chunk array
        self._ahead = 4 * self._threads
        self._pending: deque[tuple[h5py.Dataset, tuple[int, ...], Future[bytes]]] = deque()
        # id(array) -> (array, chunk shape, its chunk futures), from precompress(); the array is read-only meanwhile
        self._ahead_of_time: dict[int, tuple[np.ndarray, tuple[int, ...], list[Future[bytes]]]] = {}
        self._made_read_only: list[np.ndarray] = []

    @property
    def _pool(self) -> ThreadPoolExecutor:
        if self._started_pool is None:
            self._started_pool = ThreadPoolExecutor(max_workers=self._threads, thread_name_prefix="battkg-deflate")
        return self._started_pool

    def precompress(self, blocks: Iterable[Block], *, max_bytes: int = PRECOMPRESS_MAX_BYTES) -> None:
        """Start compressing the float arrays of ``blocks`` now, before their datasets exist (e.g.
        while the per-cycle summary is computed); :func:`write_blocks` picks the chunks up.

        Each such array is made read-only until :meth:`close`: changing it in place in the meantime raises
        instead of storing chunks of the old values.  Arrays beyond ``max_bytes`` in all are left for
        :func:`write_blocks` (the compressed chunks are held in memory until written)."""
        budget = max_bytes
        for block in blocks:
            for array in block.arrays:
                values = array.values
                if not (isinstance(values, np.ndarray) and _raw_chunked(values)) or values.nbytes > budget:
                    continue
                budget -= values.nbytes
                if values.flags.writeable:
                    values.flags.writeable = False
                    self._made_read_only.append(values)
                shape = _chunk_shape(values)
                if not isinstance(shape, tuple):  # pragma: no cover - _raw_chunked() excludes it
                    continue
                futures = [self._pool.submit(_shuffled_deflate, values[start:start + shape[0]], shape)
                           for start in range(0, values.shape[0], shape[0])]
                self._ahead_of_time[id(values)] = (values, shape, futures)

    def submit(self, dataset: h5py.Dataset, rows: np.ndarray, first_row: int) -> None:
        """Queue one chunk: ``rows`` (at most a chunk's worth; they must not change until :meth:`drain`)
        go to rows ``first_row:`` of ``dataset``, which must start a chunk and already be in its extent."""
        self._check(dataset, rows)
        if first_row % dataset.chunks[0] or rows.shape[0] > dataset.chunks[0]:
            raise ValueError(f"rows {first_row}..{first_row + rows.shape[0]} are not one chunk of {dataset.name} "
                             f"(chunks of {dataset.chunks[0]} rows)")
        if rows.shape[1:] != tuple(dataset.chunks[1:]):  # a short row would be padded with zeros unnoticed
            raise ValueError(f"rows of shape {rows.shape[1:]} do not fit {dataset.name}, whose rows are "
                             f"{tuple(dataset.chunks[1:])}")
        self._queue(dataset, rows, first_row)

    def write_array(self, dataset: h5py.Dataset, values: np.ndarray) -> None:
        """Write every chunk of ``values`` (the whole dataset); returns once they are all in the file."""
        self._check(dataset, values)
        length = dataset.chunks[0]
        early = self._ahead_of_time.pop(id(values), None)  # popped: its chunks' memory goes once written
        if early is not None and early[0] is values and early[1] == tuple(dataset.chunks):
            for index, future in enumerate(early[2]):
                self._pending.append((dataset, (index * length,) + (0,) * (values.ndim - 1), future))
        elif values.shape[0] <= length:  # one chunk (an XRD pattern): threads would only add their start-up
            self.drain()
            dataset.id.write_direct_chunk((0,) * values.ndim, _shuffled_deflate(values, tuple(dataset.chunks)))
        else:
            for start in range(0, values.shape[0], length):
                self._queue(dataset, values[start:start + length], start)
        # Every chunk of this dataset is in the file before the next dataset is created, so the file's
        # layout (and its checksum) does not depend on whether the chunks were compressed early.
        self.drain()

    @staticmethod
    def _check(dataset: h5py.Dataset, values: np.ndarray) -> None:
        if not raw_chunks_possible(dataset, values):
            raise ValueError(f"cannot write {values.dtype} values as raw chunks of {dataset.name} "
                             f"({dataset.dtype}, chunks {dataset.chunks}, filters {dataset.compression})")

    def _queue(self, dataset: h5py.Dataset, rows: np.ndarray, first_row: int) -> None:
        shape = tuple(dataset.chunks)
        offset = (first_row,) + (0,) * (len(shape) - 1)
        self._pending.append((dataset, offset, self._pool.submit(_shuffled_deflate, rows, shape)))
        if len(self._pending) > self._ahead:
            self._write_oldest()

    def _write_oldest(self) -> None:
        dataset, offset, future = self._pending.popleft()
        dataset.id.write_direct_chunk(offset, future.result())

    def drain(self) -> None:
        """Write every queued chunk (before reading the datasets back or closing the file)."""
        while self._pending:
            self._write_oldest()

    def close(self, *, discard: bool = False) -> None:
        """Drain (unless ``discard``: after an error, drop what is queued), then stop the threads."""
        try:
            if not discard:
                self.drain()
        finally:
            # Not yet started compressions are dropped (after an error, or arrays never written): an
            # error reaches the user without waiting for them.
            for _, _, future in self._pending:
                future.cancel()
            for _, _, futures in self._ahead_of_time.values():
                for future in futures:
                    future.cancel()
            self._pending.clear()
            if self._started_pool is not None:
                self._started_pool.shutdown(wait=True)
                self._started_pool = None
            for values in self._made_read_only:
                values.flags.writeable = True
            self._made_read_only.clear()
            self._ahead_of_time.clear()

    def __enter__(self) -> ChunkWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close(discard=exc_info[0] is not None)


def write_blocks(path: Path, blocks: Iterable[Block], attrs: dict[str, str] | None = None, *,
                 chunk_writer: ChunkWriter | None = None) -> list[ArrayDescription]:
    """Write every block's arrays under ``/<block>/<array>``; return their descriptions.

    ``chunk_writer``: one the caller opened (and closes), e.g. after :meth:`ChunkWriter.precompress`.
    The file's bytes depend only on the arrays and attributes (chunks are written in order, no
    timestamps), so the same content gives the same blob key."""
    described: list[ArrayDescription] = []
    writer = chunk_writer or ChunkWriter()
    with h5py.File(path, "w", track_order=True) as h5, nullcontext() if chunk_writer else writer:
        for key, value in (attrs or {}).items():
            h5.attrs[key] = value
        for block in blocks:
            group = h5.require_group(block.name)
            for array in block.arrays:
                values = np.asarray(array.values)
                threaded = _raw_chunked(values)
                dataset = _create_dataset(group, array.name, values, with_data=not threaded)
                if threaded:
                    writer.write_array(dataset, values)
                dataset.attrs["quantity"] = array.quantity
                dataset.attrs["unit"] = array.unit
                if array.description:
                    dataset.attrs["description"] = array.description
                described.append(ArrayDescription(block.name, array.name, dataset.name, array.quantity, array.unit,
                                                  tuple(values.shape), str(values.dtype), array.description))
        writer.drain()  # every chunk in the file before it closes
    return described


def _chunk_shape(values: np.ndarray) -> tuple[int, ...] | bool:
    """Chunks of CHUNK_VALUES values for 1-D arrays; whole rows (about as many bytes) for N-D arrays such
    as MD positions (frames × atoms × 3: a frame is read as one chunk); h5py's choice (True) for rows
    too long to be one chunk's unit."""
    if values.ndim == 1:
        return (min(values.size, CHUNK_VALUES),)
    row_bytes = values.dtype.itemsize * int(np.prod(values.shape[1:]))
    if row_bytes > MAX_ROW_BYTES:
        return True
    rows = max(1, min(values.shape[0], CHUNK_VALUES * 8 // row_bytes))
    return (rows, *values.shape[1:])


def _raw_chunked(values: np.ndarray) -> bool:
    """Whether ``values`` is written as raw chunks shuffled and deflated by :class:`ChunkWriter`."""
    return (values.size >= MIN_CHUNKED_VALUES and values.dtype.kind in THREADED_KINDS and values.dtype.isnative
            and _chunk_shape(values) is not True)


def _create_dataset(group: h5py.Group, name: str, values: np.ndarray, *, with_data: bool) -> h5py.Dataset:
    """The dataset for ``values`` with its layout and filters (see the constants above); written by
    libhdf5 if ``with_data``, else left empty for raw chunks."""
    common = ({"data": values} if with_data else {"shape": values.shape, "dtype": values.dtype}) | {
        "track_times": False}  # same content, same bytes
    if values.size < MIN_CHUNKED_VALUES:
        return group.create_dataset(name, **common)
    return group.create_dataset(name, **common, chunks=_chunk_shape(values), **FILTERS)


def read_array(path: Path, hdf5_path: str) -> np.ndarray:
    """Read one dataset back (used by export, the API and tests)."""
    with h5py.File(path, "r") as h5:
        return h5[hdf5_path][()]
