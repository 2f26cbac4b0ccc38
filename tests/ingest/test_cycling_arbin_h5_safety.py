"""The Arbin SQL HDF5 reader never runs a pickle from the file.

PyTables (behind ``pandas.HDFStore``) calls ``pickle.loads`` on attributes ending in ``.`` and on
``object`` VLARRAY rows, so a crafted ``.h5`` would run code on ``battkg ingest`` or an upload.  Each
test plants a pickle that creates a marker directory (``os.mkdir``) in a copy of the shared sample:
the ingest must be refused naming the file, the node and the attribute, the marker must not exist and
the store must be unchanged.  ``test_the_payload_is_live`` shows that the same bytes do create the
marker when Python's full unpickler reads them, so the marker check can fail.  The same crafted file
is also uploaded through ``POST /ingest/cycling``.  HDF5 links and external or virtual storage (which
could pull another file of the server into the store) are refused as well.

The last test checks the h5py decoding against ``pandas.HDFStore`` (PyTables: test-only) on a file
pandas writes with text, NaN, boolean, small-integer and data columns.
"""

from __future__ import annotations

import os
import pickle
import shutil
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import h5py
import numpy as np
import pandas as pd
import pytest

from battkg.ingest.cycling import arbin_sql_h5
from battkg.readers import detect_reader
from battkg.store import Repository, open_repository
from tests.api.conftest import World, auth, client, world  # noqa: F401 - the API fixtures
from tests.conftest import SAMPLES, requires_shared_samples
from tests.helpers import assert_refused, snapshot

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

SQL_H5 = SAMPLES / "cycling/cellpy_20200624_test001_cc_01.h5"


class _MakeMarker:
    """Unpickling this calls ``os.mkdir(marker)``: the side effect the tests look for."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.mkdir, (str(self.marker),))


class _ObjectArrayWithMarker:
    """Unpickles as what numpy writes for an object array, but through ``os.mkdir`` instead of ``_reconstruct``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.mkdir, (str(self.marker),), (1, (1, 1), None, False, ["x"]))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Repository]:
    repository = open_repository(tmp_path_factory.mktemp("arbin-safety") / "store")
    yield repository
    repository.close()


def _payload(marker: Path, protocol: int = 0) -> bytes:
    return pickle.dumps(_MakeMarker(marker), protocol=protocol)


def plant_attribute(source: Path, target: Path, node: str, attribute: str, marker: Path) -> Path:
    """A copy of ``source`` whose ``node`` attribute is a pickle calling ``os.mkdir(marker)``."""
    shutil.copy(source, target)
    with h5py.File(target, "r+") as h5:
        h5[node].attrs[attribute] = np.bytes_(_payload(marker))
    return target


def plant_object_block(source: Path, target: Path, node: str, payload: bytes) -> Path:
    """A copy of ``source`` whose object VLARRAY ``node`` holds ``payload`` as its pickled row."""
    shutil.copy(source, target)
    with h5py.File(target, "r+") as h5:
        h5[node][0] = np.frombuffer(payload, dtype=np.uint8)
    return target


def test_the_payload_is_live(tmp_path: Path) -> None:
    """Python's full unpickler (what PyTables uses) runs it: the marker checks below are not vacuous."""
    marker = tmp_path / "control"
    pickle.loads(_payload(marker))
    assert marker.is_dir()


@requires_shared_samples
@pytest.mark.parametrize(("node", "attribute"), [
    ("/data_df/table", "values_block_0_kind"),  # a pickled column list
    ("/stat_df", "non_index_axes"),  # the column order
    ("/data_df", "pandas_type"),  # a text attribute (read to list the pandas nodes)
    ("/info_df", "encoding"),  # a text attribute of the fixed-format node
])
def test_a_pickled_attribute_is_refused_without_running_it(store: Repository, tmp_path: Path, node: str,
                                                           attribute: str) -> None:
    marker = tmp_path / "marker"
    path = plant_attribute(SQL_H5, tmp_path / "crafted.h5", node, attribute, marker)
    assert detect_reader("cycling", path).info.id == "cycling.arbin.sql_h5"  # detection reads no pickle
    assert not marker.exists()
    try:
        error = assert_refused(store, "cycling", path, f"field '{node}'", f"attribute '{attribute}'",
                               "holds a pickle battkg will not run", "posix.mkdir", "cycling.arbin.sql_h5")
    finally:  # checked first: a reader that ran the pickle fails here whatever it then raised
        assert not marker.exists(), "the reader ran the pickle planted in the file"
    assert getattr(error, "field") == node


@requires_shared_samples
def test_an_upload_with_a_planted_pickle_is_a_422_and_runs_nothing(client: TestClient, world: World,
                                                                   tmp_path: Path) -> None:
    """``POST /ingest/cycling`` (writer token): the crafted file is refused; the pickle never runs."""
    marker = tmp_path / "marker"
    path = plant_attribute(SQL_H5, tmp_path / "run.h5", "/data_df/table", "values_block_0_kind", marker)
    before = snapshot(world.repo)
    response = client.post("/ingest/cycling", files=[("file", ("run.h5", path.read_bytes(), "application/x-hdf5"))],
                           data={"sample": "C-1"}, headers=auth(world.tokens["writer"]))
    assert not marker.exists(), "the server ran the pickle planted in the upload"
    assert response.status_code == 422, response.text
    (error,) = response.json()["errors"]
    assert error["file"] == "run.h5" and "attribute 'values_block_0_kind'" in error["error"]
    assert snapshot(world.repo) == before


@requires_shared_samples
@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_a_foreign_pickle_in_the_object_block_is_refused(store: Repository, tmp_path: Path, protocol: int) -> None:
    marker = tmp_path / "marker"
    payload = pickle.dumps(_ObjectArrayWithMarker(marker), protocol=protocol)
    path = plant_object_block(SQL_H5, tmp_path / "crafted.h5", "/info_df/block2_values", payload)
    try:
        assert_refused(store, "cycling", path, "field '/info_df/block2_values'", "the object block holds a pickle "
                       "battkg will not run", "posix.mkdir")
    finally:
        assert not marker.exists(), "the reader ran the pickle planted in the file"


@requires_shared_samples
@pytest.mark.parametrize(("cells", "fragment"), [
    (np.array([[np.float64(1.5)]], dtype=object), "multiarray.scalar"),  # a numpy scalar cell
    (np.array([[("a", 1)]], dtype="O,i8"), "dtype"),  # a structured dtype, not the object dtype
    (np.array([[1.0]]), "the object dtype"),  # a float array: not an object block
])
def test_numpy_names_beyond_an_object_array_of_plain_cells_are_refused(store: Repository, tmp_path: Path,
                                                                       cells: np.ndarray, fragment: str) -> None:
    path = plant_object_block(SQL_H5, tmp_path / "crafted.h5", "/info_df/block2_values", pickle.dumps(cells))
    assert_refused(store, "cycling", path, "field '/info_df/block2_values'", "will not run", fragment)


@requires_shared_samples
def test_the_samples_object_block_is_the_only_pickle_read_with_numpy_names(tmp_path: Path) -> None:
    """The stand-ins rebuild the sample's info_df object block exactly as numpy would."""
    with h5py.File(SQL_H5, "r") as h5:
        data = np.asarray(h5["/info_df/block2_values"][0]).tobytes()
    rebuilt = arbin_sql_h5._object_array(data)
    expected = pickle.loads(data)  # the sample is trusted reference data; this is the oracle
    assert rebuilt.dtype == object and rebuilt.shape == expected.shape == (1, 10)
    assert rebuilt.tolist() == expected.tolist()
    parsed = detect_reader("cycling", SQL_H5).read(SQL_H5)
    assert (parsed.metadata["schedule"], parsed.metadata["schedule_version"]) == (
        "Simple-OCV+cc-ch2.sdx", "Schedule Version 8.00.11")


@requires_shared_samples
@pytest.mark.parametrize("how", ["external storage", "external link"])
def test_values_stored_outside_the_file_are_not_read(store: Repository, tmp_path: Path, how: str) -> None:
    """An upload must not pull another file of the server into the store (HDF5 can point at any file)."""
    secret = tmp_path / "secret.bin"
    secret.write_bytes(bytes(range(256)) * 64)
    path = tmp_path / "crafted.h5"
    shutil.copy(SQL_H5, path)
    with h5py.File(path, "r+") as h5:
        if how == "external storage":  # /data_df/table's rows taken from the secret file
            table = h5["/data_df/table"]
            dtype, shape, attrs = table.dtype, table.shape, dict(table.attrs)
            del h5["/data_df/table"]
            moved = h5["/data_df"].create_dataset("table", shape=shape, dtype=dtype,
                                                  external=[(str(secret), 0, shape[0] * dtype.itemsize)])
            moved.attrs.update(attrs)
            node, fragment = "/data_df/table", "external raw storage outside the file"
        else:  # /info_df/axis0 (the column names) from another HDF5 file
            with h5py.File(tmp_path / "other.h5", "w") as other:
                other["axis0"] = h5["/info_df/axis0"][()]
            del h5["/info_df/axis0"]
            h5["/info_df"]["axis0"] = h5py.ExternalLink(str(tmp_path / "other.h5"), "/axis0")
            node, fragment = "/info_df/axis0", "an external link to"
    assert_refused(store, "cycling", path, f"field '{node}'", fragment)


def test_the_h5py_decoding_matches_pandas_hdfstore(tmp_path: Path) -> None:
    import tables  # noqa: F401 - a test dependency (pyproject "test" extra): pandas' HDFStore writes with it
    data = pd.DataFrame({"Test_ID": [1, 1, 2], "Data_Point": [1, 2, 1], "Test_Time": [0.0, 1.0, 0.5],
                         "Voltage": [3.0, 3.1, np.nan], "Current": [0.001, 0.001, -0.001],
                         "Note": ["x", None, "nan"], "DataOK": [True, False, True],
                         "Aux_Flag": np.array([1, 2, 3], dtype=np.int16)})
    info = pd.DataFrame({"Test_ID": [1, 2], "Schedule_File_Name": ["a.sdx", None], "SpecificMASS": [0.01, 0.02],
                         "Item_ID": ["", "é"]})
    stat = pd.DataFrame({"Test_ID": [1, 2], "Channel_ID": [4, 4], "Test_Name": ["cell-7", "cell-7"]})
    path = tmp_path / "pandas.h5"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyTables' performance warning about object columns
        with pd.HDFStore(str(path), "w") as h5:
            h5.put("data_df", data, format="table", data_columns=["Test_ID"], track_times=False)
            h5.put("info_df", info, track_times=False)  # fixed format: an object block
            h5.put("stat_df", stat, format="table", track_times=False)
    frames = arbin_sql_h5._frames(path)
    with pd.HDFStore(str(path), "r") as h5:
        for key in ("data_df", "info_df", "stat_df"):
            expected = h5[key].reset_index(drop=True)
            pd.testing.assert_frame_equal(frames[key], expected, check_index_type=False, obj=key)
