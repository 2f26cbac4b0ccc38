"""Bulk arrays → one HDF5 file per record (h5py; chunked, compressed).

Arrays never become triples: the graph gets one :class:`ArrayDescription` per
dataset (quantity, unit, shape, dtype, HDF5 path).  Arrays are stored in the
unit the source gave, and that unit is recorded; scalar quantities in the
graph are the ones converted to canonical units.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import h5py
import numpy as np

from battkg.readers import Block

# lzf is h5py's built-in fast compressor: ~3x faster than gzip for a modest
# ratio loss, which keeps ingest close to the cost of writing the data once.
COMPRESSION = "lzf"
# Chunk length of 1-D arrays (32768 values, 256 KiB of float64).  h5py's automatic choice for
# a 10^6-value series is ~4000 values: 250 chunks whose per-chunk overhead made the 8 arrays
# of a cycling file 15-20 % slower to write (0.33 vs 0.28 s) and 1.6x bigger (6.3 vs 4.0 MB).
# Longer chunks write no faster and make reading a short slice dearer (a whole chunk is read).
CHUNK_VALUES = 1 << 15
# Integer arrays (counters: cycle, step, half cycle) go through HDF5's built-in scale-offset filter
# first, which is lossless for integers (it stores each chunk's values minus its minimum in as many
# bits as the chunk's range needs); lzf then has far fewer bytes to compress.  For three 10^6-value
# counters of a cycling file: 0.11 -> 0.04 s, 0.39 -> 0.9 MB (32 MB uncompressed).  Floats keep
# shuffle + lzf: HDF5's scale-offset is lossy for floating point.
LOSSLESS_SCALEOFFSET_KINDS = "iu"


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


def write_blocks(path: Path, blocks: Iterable[Block], attrs: dict[str, str] | None = None) -> list[ArrayDescription]:
    """Write every block's arrays under ``/<block>/<array>``; return their descriptions."""
    described: list[ArrayDescription] = []
    with h5py.File(path, "w", track_order=True) as h5:
        for key, value in (attrs or {}).items():
            h5.attrs[key] = value
        for block in blocks:
            group = h5.require_group(block.name)
            for array in block.arrays:
                values = np.asarray(array.values)
                chunked = values.size >= 1024
                chunks = (min(values.size, CHUNK_VALUES),) if values.ndim == 1 else True
                integers = values.dtype.kind in LOSSLESS_SCALEOFFSET_KINDS
                dataset = group.create_dataset(
                    array.name,
                    data=values,
                    chunks=chunks if chunked else None,
                    compression=COMPRESSION if chunked else None,
                    shuffle=chunked and not integers,
                    scaleoffset=0 if chunked and integers else None,  # 0: as many bits as each chunk needs
                    track_times=False,  # identical content → identical bytes → same blob key
                )
                dataset.attrs["quantity"] = array.quantity
                dataset.attrs["unit"] = array.unit
                if array.description:
                    dataset.attrs["description"] = array.description
                described.append(ArrayDescription(block.name, array.name, dataset.name, array.quantity, array.unit,
                                                  tuple(values.shape), str(values.dtype), array.description))
    return described


def read_array(path: Path, hdf5_path: str) -> np.ndarray:
    """Read one dataset back (used by export, the API and tests)."""
    with h5py.File(path, "r") as h5:
        return h5[hdf5_path][()]
