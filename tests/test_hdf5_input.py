"""HDF5 input files are read only when every value is inside the file (battkg.hdf5_input).

A crafted file can take a dataset's values from any path on the server (external raw storage), from
another HDF5 file (external link) or assemble them from other files (virtual dataset); every reader
of an HDF5 format opens its input through ``open_input_hdf5`` and refuses those.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from battkg.errors import FormatError
from battkg.hdf5_input import open_input_hdf5
from battkg.readers import readers_for

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
TECHNIQUES = ("xrd", "xps", "raman", "ftir", "cycling", "eis", "md")
# Every reader that claims HDF5 files by their magic bytes, so a new HDF5 format is covered when added.
HDF5_READERS = sorted((technique, reader.info.id) for technique in TECHNIQUES for reader in readers_for(technique)
                      if HDF5_MAGIC in reader.info.magic)


def test_the_hdf5_readers_are_found() -> None:
    assert {reader_id for _, reader_id in HDF5_READERS} >= {"xrd.nexus.nxs", "md.h5md", "cycling.batdata.h5",
                                                            "cycling.arbin.sql_h5"}


def _secret(tmp_path: Path) -> Path:
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(64, dtype="<f8").tobytes())
    return secret


def write_with_outside_values(path: Path, how: str, tmp_path: Path) -> str:
    """An HDF5 file whose ``/entry/data`` takes its values from outside; returns that node's path."""
    with h5py.File(path, "w") as h5:
        group = h5.create_group("entry")
        group["inside"] = np.zeros(4)
        if how == "external storage":
            group.create_dataset("data", shape=(64,), dtype="<f8", external=[(str(_secret(tmp_path)), 0, 64 * 8)])
        elif how == "external link":
            with h5py.File(tmp_path / "other.h5", "w") as other:
                other["values"] = np.ones(3)
            group["data"] = h5py.ExternalLink(str(tmp_path / "other.h5"), "/values")
        else:  # a virtual dataset assembled from another file
            with h5py.File(tmp_path / "source.h5", "w") as source:
                source["values"] = np.ones(5)
            layout = h5py.VirtualLayout(shape=(5,), dtype="f8")
            layout[:] = h5py.VirtualSource(str(tmp_path / "source.h5"), "values", shape=(5,))
            group.create_virtual_dataset("data", layout)
    return "/entry/data"


@pytest.mark.parametrize("how, rule", [("external storage", "external raw storage outside the file"),
                                       ("external link", "an external link to"),
                                       ("virtual dataset", "a virtual dataset outside the file")])
def test_values_outside_the_file_are_refused_naming_the_node(tmp_path: Path, how: str, rule: str) -> None:
    path = tmp_path / "crafted.h5"
    node = write_with_outside_values(path, how, tmp_path)
    with pytest.raises(FormatError) as info:
        open_input_hdf5(path, "test.reader")
    message = str(info.value)
    assert str(path) in message and f"field '{node}'" in message and rule in message


def test_links_inside_the_file_are_read(tmp_path: Path) -> None:
    """NeXus points its default plot at the detector data with a soft link: that stays readable."""
    path = tmp_path / "nexus-like.h5"
    with h5py.File(path, "w") as h5:
        h5["entry/instrument/detector/data"] = np.arange(3.0)
        h5["entry/plot/data"] = h5py.SoftLink("/entry/instrument/detector/data")
    with open_input_hdf5(path, "test.reader") as h5:
        assert list(h5["entry/plot/data"][()]) == [0.0, 1.0, 2.0]


@pytest.mark.parametrize("technique, reader_id", HDF5_READERS)
def test_every_hdf5_reader_refuses_values_outside_the_file(tmp_path: Path, technique: str, reader_id: str) -> None:
    (reader,) = [r for r in readers_for(technique) if r.info.id == reader_id]
    path = tmp_path / "crafted.h5"
    write_with_outside_values(path, "external storage", tmp_path)
    with pytest.raises(FormatError) as info:
        reader.read(path)
    assert "outside the file" in str(info.value) and f"[reader {reader_id}]" in str(info.value)
