"""battery-data-toolkit (battdat) HDF5 cycling files, through the whole ingest path.

There is no sample of this format in ``shared/``: the tests build a few galvanostatic cycles with known
capacities and write them with battery-data-toolkit itself (an independent writer) when it is installed,
and always with PyTables following battdat 0.4.6's layout (``battdat/io/hdf.py``); when battdat is
installed, ``test_pytables_writer_matches_battdat_layout`` pins the second writer to the first.
battery-data-toolkit is not in the ``test`` extra: its EMMOntoPy dependency pins owlready2 < 0.50, which
would downgrade battkg's own owlready2; ``pip install --no-deps battery-data-toolkit`` is enough here.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import h5py
import numpy as np
import pandas as pd
import pytest

from battkg.ingest.pipeline import IngestResult, ingest_file
from battkg.ingest.technique import UserMetadata
from battkg.ontology import vocabulary
from battkg.readers import detect_reader, readers_for
from battkg.store import Repository, open_repository
from tests.conftest import SAMPLES, requires_shared_samples
from tests.helpers import assert_refused

BATDATA = "cycling.batdata.h5"
ARBIN = "cycling.arbin.sql_h5"
BATTDAT_VERSION = "0.4.6"
OUTPUT = "emmo:EMMO_c4bace1d_4db0_4cd3_87e9_18122bae2840"
VALUE = "emmo:EMMO_8ef3cd6d_ae58_4a8d_9fc0_ad8f49015cd0/emmo:EMMO_faf79f53_749d_40b2_807c_d34244c192f4"

# Galvanostatic cycles: +0.5 A charge, -0.5 A discharge, one sample every 36 s (0.005 A·h per interval).
CURRENT_A = 0.5
DT_S = 36.0
STEP_AH = CURRENT_A * DT_S / 3600.0
CHARGE_STEPS = 20
DISCHARGE_STEPS = (20, 19, 18, 17)  # fading: 0.100, 0.095, 0.090, 0.085 A·h
START_UNIX = 1_700_000_000.0  # 2023-11-14T22:13:20Z

# battdat 0.4.6 RawData column schema (battdat/schemas/column.py): name, type, units, required, monotonic.
RAW_DATA_SCHEMA = (
    ("file_number", "integer", None, False, True), ("state", "state", None, False, False),
    ("method", "control", None, False, False), ("cycle_number", "integer", None, False, True),
    ("step_index", "integer", None, False, False), ("substep_index", "integer", None, False, False),
    ("test_time", "float", "s", True, True), ("voltage", "float", "V", True, False),
    ("current", "float", "A", True, False), ("internal_resistance", "float", "ohm", False, False),
    ("time", "float", "s", False, True), ("temperature", "float", "C", False, False),
    ("cycle_time", "float", "s", False, True), ("cycle_capacity", "float", "A-hr", False, False),
    ("cycle_energy", "float", "J", False, False), ("cycle_capacity_charge", "float", "A-hr", False, False),
    ("cycle_capacity_discharge", "float", "A-hr", False, False),
)
CYCLE_STATS_SCHEMA = (("cycle_number", "integer", None, True, True),
                      ("capacity_discharge", "float", "A-hr", False, False))
METADATA_DEFAULTS = {"name": None, "comments": None, "version": BATTDAT_VERSION, "is_measurement": True,
                     "test_protocol": None, "battery": None, "modeling": None, "source": None, "dataset_name": None,
                     "authors": None, "associated_ids": None}


def galvanostatic_cycles(discharge_steps: tuple[int, ...] = DISCHARGE_STEPS, *, offset_v: float = 0.0) -> pd.DataFrame:
    """battdat raw_data columns for constant-current cycles that start with a charge.

    Between the last sample at +I and the first at -I (and back) the trapezoid current is 0, so each
    cycle's capacities are exactly STEP_AH × its number of constant-current intervals.
    """
    rows: list[dict[str, Any]] = []
    t = 0.0
    for cycle, n_discharge in enumerate(discharge_steps):
        for step, (sign, n) in enumerate(((1.0, CHARGE_STEPS), (-1.0, n_discharge))):
            for k in range(n + 1):
                rows.append({"cycle_number": cycle, "step_index": step, "test_time": t,
                             "voltage": (3.4 + 0.03 * k if sign > 0 else 4.0 - 0.03 * k) + offset_v,
                             "current": sign * CURRENT_A, "temperature": 25.0 + 0.01 * k, "time": START_UNIX + t,
                             "state": "charging" if sign > 0 else "discharging",
                             "cycle_capacity_charge": k * STEP_AH if sign > 0 else 0.0,
                             "cycle_capacity_discharge": k * STEP_AH if sign < 0 else 0.0})
                t += DT_S
    frame = pd.DataFrame(rows)
    # battdat's StateOfCharge: ∫I dt from the start of each cycle (A·h), trapezoid.
    capacity = np.zeros(len(frame))
    for _, index in frame.groupby("cycle_number").groups.items():
        sub = frame.loc[index]
        steps = (sub["current"].to_numpy()[1:] + sub["current"].to_numpy()[:-1]) / 2 * np.diff(sub["test_time"]) / 3600
        capacity[index] = np.concatenate([[0.0], np.cumsum(steps)])
    frame["cycle_capacity"] = capacity
    return frame


CELL_METADATA = {"name": "NMC811-Gr-03", "comments": "synthetic galvanostatic cycles",
                 "test_protocol": {"cycler": "Arbin LBT21084", "schedule": "CC_0.5A.sdx", "set_temperature": 25.0,
                                   "start_date": "2023-11-14"},
                 "battery": {"nominal_capacity": 0.1, "cathode": {"name": "NMC811"}, "anode": {"name": "graphite"}},
                 "source": "battkg tests"}


# ------------------------------------------------------------------------------------------ writers


def _schema_json(columns: tuple[tuple[str, str, str | None, bool, bool], ...]) -> str:
    return json.dumps({"extra_columns": {}, **{name: {"required": required, "type": kind, "description": name,
                                                      "units": units, "monotonic": monotonic}
                                               for name, kind, units, required, monotonic in columns}},
                      separators=(",", ":"))


def _records(frame: pd.DataFrame) -> np.ndarray:
    """A DataFrame as battdat's make_numpy_dtype_from_pandas stores it: strings as fixed-length bytes."""
    fields = []
    for name in frame.columns:
        values = frame[name]
        if values.dtype.kind in "fiub":
            fields.append((name, values.dtype))
        else:
            fields.append((name, np.dtype(f"S{values.astype(str).str.len().max()}")))
    records = np.empty(len(frame), dtype=fields)
    for name in frame.columns:
        records[name] = frame[name].astype(str).str.encode("utf-8") if records.dtype[name].kind == "S" \
            else frame[name].to_numpy()
    return records


def write_with_pytables(path: Path, raw_data: pd.DataFrame | None, metadata: dict[str, Any], *,
                        prefix: str | None = None, cycle_stats: pd.DataFrame | None = None,
                        append: bool = False) -> Path:
    """battdat 0.4.6's HDF5Writer, with PyTables: root attrs metadata/json_schema/battdat_version, one
    Table per subset (attrs battdat_version, metadata = column schema JSON, json_schema)."""
    import tables

    with tables.open_file(str(path), mode="a" if append else "w") as h5:
        root = h5.root
        root._f_setattr("metadata", json.dumps({**METADATA_DEFAULTS, **metadata}, separators=(",", ":")))
        root._f_setattr("json_schema", {"title": "BatteryMetadata", "type": "object"})  # battdat: a dict, pickled
        root._f_setattr("battdat_version", BATTDAT_VERSION)
        group = root if prefix is None else h5.create_group("/", prefix)
        for name, frame, schema in (("raw_data", raw_data, RAW_DATA_SCHEMA), ("cycle_stats", cycle_stats,
                                                                              CYCLE_STATS_SCHEMA)):
            if frame is None:
                continue
            records = _records(frame)
            description, _ = tables.descr_from_dtype(records.dtype)
            table = h5.create_table(group, name, description=description, expectedrows=len(records),
                                    filters=tables.Filters(complevel=0, complib="zlib"))
            table.append(records)
            table.attrs.battdat_version = BATTDAT_VERSION
            table.attrs.metadata = _schema_json(schema)
            table.attrs.json_schema = {"title": type(frame).__name__, "type": "object"}
    return path


def write_with_battdat(path: Path, raw_data: pd.DataFrame | None, metadata: dict[str, Any], *,
                       prefix: str | None = None, cycle_stats: pd.DataFrame | None = None,
                       append: bool = False) -> Path:
    """battery-data-toolkit's own writer (BatteryDataset.to_hdf)."""
    from battdat.data import BatteryDataset
    from battdat.schemas import BatteryMetadata

    dataset = BatteryDataset.make_cell_dataset(metadata=BatteryMetadata(**metadata), raw_data=raw_data,
                                               cycle_stats=cycle_stats)
    dataset.to_hdf(path, prefix=prefix, overwrite=not append)
    return path


Writer = Callable[..., Path]


def _battdat_available() -> bool:
    try:
        import battdat.io.hdf  # noqa: F401
    except ImportError:
        return False
    return True


WRITERS = [pytest.param(write_with_pytables, id="pytables"),
           pytest.param(write_with_battdat, id="battdat", marks=pytest.mark.skipif(
               not _battdat_available(), reason="battery-data-toolkit not installed "
                                                "(pip install --no-deps battery-data-toolkit)"))]


@pytest.fixture(params=WRITERS)
def write(request: pytest.FixtureRequest) -> Writer:
    return request.param


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Repository]:
    repository = open_repository(tmp_path_factory.mktemp("batdata") / "store")
    yield repository
    repository.close()


# ------------------------------------------------------------------------------------------ record readers


def _arrays(repo: Repository, result: IngestResult) -> dict[tuple[str, str], np.ndarray]:
    """(block, array name) -> values, from the HDF5 blob the record's graph points to."""
    rows = list(repo.graphs.query(f"""
        SELECT ?path ?name ?block ?sha WHERE {{ GRAPH <{result.record_iri}> {{
          ?d battkg:hasArray ?a ; battkg:sha256 ?sha .
          ?a battkg:hdf5Path ?path ; rdfs:label ?name ; battkg:block ?block }} }}""",
                                  graphs=None))
    (sha,) = {r["sha"].value for r in rows}
    with h5py.File(repo.blobs.path_of(sha), "r") as h5:
        return {(r["block"].value, r["name"].value): h5[r["path"].value][()] for r in rows}


def _values(repo: Repository, result: IngestResult, predicate: str, quantity: str) -> list[float]:
    """Values (canonical unit) of the quantities of one class reached from any node by ``predicate``."""
    rows = repo.graphs.query(f"""
        SELECT ?v WHERE {{ GRAPH <{result.record_iri}> {{
          ?a {predicate} ?q . ?q a <{vocabulary().iri(quantity)}> ; {VALUE} ?v }} }}""", graphs=None)
    return sorted(float(r["v"].value) for r in rows)


# ------------------------------------------------------------------------------------------ the whole path


def test_batdata_cell_through_ingest_gives_the_cycles_it_was_built_from(write: Writer, store: Repository,
                                                                        tmp_path: Path) -> None:
    frame = galvanostatic_cycles()
    path = write(tmp_path / "cell.h5", frame, CELL_METADATA)
    assert detect_reader("cycling", path).info.id == BATDATA

    result = ingest_file(store, "cycling", path, UserMetadata())  # the sample name comes from the file
    assert result.created and result.format_id == BATDATA
    arrays = _arrays(store, result)
    series = {name: values for (block, name), values in arrays.items() if block == "timeseries"}
    np.testing.assert_array_equal(series["time"], frame["test_time"])
    np.testing.assert_array_equal(series["voltage"], frame["voltage"])
    np.testing.assert_array_equal(series["current"], frame["current"])  # battdat: positive = charging, as battkg
    np.testing.assert_array_equal(series["cycle_index"], frame["cycle_number"] + 1)  # 0-based -> 1-based
    np.testing.assert_array_equal(series["step_index"], frame["step_index"])
    np.testing.assert_array_equal(series["temperature"], frame["temperature"])
    np.testing.assert_allclose(series["charge_capacity"], frame["cycle_capacity_charge"], rtol=1e-12)
    np.testing.assert_allclose(series["discharge_capacity"], frame["cycle_capacity_discharge"], rtol=1e-12)
    np.testing.assert_allclose(series["cycle_capacity"], frame["cycle_capacity"], rtol=1e-12)

    # The per-cycle summary (HDF5) and the record's figures are the capacities the cycles were built with.
    assert arrays[("cycle_summary", "cycle")].tolist() == [1, 2, 3, 4]
    np.testing.assert_allclose(arrays[("cycle_summary", "charge_capacity")], [CHARGE_STEPS * STEP_AH] * 4, rtol=1e-9)
    np.testing.assert_allclose(arrays[("cycle_summary", "discharge_capacity")],
                               [n * STEP_AH for n in DISCHARGE_STEPS], rtol=1e-9)
    assert _values(store, result, OUTPUT, "TotalNumberOfCycles") == [4.0]
    assert 0.1 in [pytest.approx(v) for v in _values(store, result, OUTPUT, "DischargingCapacity")]
    # Metadata: the cell name is the sample; set temperature and nominal capacity are parameters (K, A·h).
    assert store.graphs.query(f"""ASK {{ GRAPH <{result.record_iri}> {{ ?s rdfs:label "NMC811-Gr-03" .
                                  ?m prov:startedAtTime ?t }} }}""", graphs=None)
    parameter = "chameo:hasMeasurementParameter"
    assert _values(store, result, parameter, "ThermodynamicTemperature") == [pytest.approx(298.15)]
    assert _values(store, result, parameter, "Capacity") == [pytest.approx(0.1)]


def test_metadata_units_and_unmapped_columns(write: Writer, tmp_path: Path) -> None:
    frame = galvanostatic_cycles((20, 19))
    frame["method"] = "constant_current"
    frame["internal_resistance"] = 0.05
    path = write(tmp_path / "cell.h5", frame, CELL_METADATA)
    parsed = detect_reader("cycling", path).read(path)
    meta = parsed.metadata
    assert (meta["sample_name"], meta["instrument"], meta["schedule"], meta["comment"], meta["start_date"]) == (
        "NMC811-Gr-03", "Arbin LBT21084", "CC_0.5A.sdx", "synthetic galvanostatic cycles", "2023-11-14")
    assert meta["start_time"] == datetime.fromtimestamp(START_UNIX, tz=timezone.utc)
    assert meta["end_time"] == datetime.fromtimestamp(START_UNIX + frame["test_time"].iloc[-1], tz=timezone.utc)
    assert meta["n_cycles"] == 2
    assert [(q.quantity, q.value, q.unit, q.label) for q in parsed.quantities] == [
        ("ThermodynamicTemperature", 25.0, "degC", "set temperature"), ("Capacity", 0.1, "A*h", "nominal capacity")]
    raw = parsed.raw_metadata
    assert raw["battdat_version"] == BATTDAT_VERSION and raw["cell"] == "/"
    assert raw["battdat_metadata"]["battery"]["cathode"]["name"] == "NMC811"
    assert raw["column_units"]["temperature"] == "degC" and raw["column_units"]["cycle_capacity_charge"] == "A*h"
    assert sorted(raw["unmapped_columns"]) == ["method", "state"]
    block = parsed.blocks[0]
    assert block.array("temperature").unit == "degC"  # battdat's "C" is Celsius, not coulomb
    resistance = block.array("internal_resistance")
    assert (resistance.quantity, resistance.unit, resistance.values.tolist()) == (
        "ElectricResistance", "ohm", [0.05] * len(frame))
    assert raw["cycle_capacity_sign_in_file"] == "positive = charged"


def test_cycle_capacity_sign_is_read_from_the_data(tmp_path: Path) -> None:
    """battdat's schema says positive = discharged, its code writes positive = charged: both are read."""
    frame = galvanostatic_cycles((20, 19))
    expected = frame["cycle_capacity"].to_numpy().copy()
    # ... and a discharge capacity counted negative (the charged-positive sign) is stored as a magnitude
    flipped = frame.assign(cycle_capacity=-frame["cycle_capacity"],
                           cycle_capacity_discharge=-frame["cycle_capacity_discharge"])
    parsed = detect_reader("cycling", write_with_pytables(tmp_path / "d.h5", flipped, {})).read(tmp_path / "d.h5")
    np.testing.assert_allclose(parsed.blocks[0].array("cycle_capacity").values, expected, rtol=1e-12)
    np.testing.assert_allclose(parsed.blocks[0].array("discharge_capacity").values, frame["cycle_capacity_discharge"],
                               rtol=1e-12)
    assert parsed.raw_metadata["cycle_capacity_sign_in_file"] == "positive = discharged"
    noise = frame.assign(cycle_capacity=np.resize([0.0, 0.01, -0.01, 0.02], len(frame)))
    parsed = detect_reader("cycling", write_with_pytables(tmp_path / "n.h5", noise, {})).read(tmp_path / "n.h5")
    assert "cycle_capacity" not in [a.name for a in parsed.blocks[0].arrays]
    assert any("cycle_capacity left out" in w for w in parsed.warnings)


def test_several_cells_in_one_file(write: Writer, store: Repository, tmp_path: Path) -> None:
    path = tmp_path / "two.h5"
    write(path, galvanostatic_cycles((20, 19)), {"name": "shared"}, prefix="cell_a")
    write(path, galvanostatic_cycles((20, 18, 16), offset_v=0.1), {"name": "shared"}, prefix="cell_b", append=True)
    assert detect_reader("cycling", path).info.id == BATDATA
    assert_refused(store, "cycling", path, "2 cells with raw_data (['cell_a', 'cell_b'])", "cell=NAME",
                   "field 'cell'")
    assert_refused(store, "cycling", path, "no cell 'cell_c'", "['cell_a', 'cell_b']", cell="cell_c")
    parsed = detect_reader("cycling", path).read(path, cell="cell_b")
    assert parsed.metadata["n_cycles"] == 3 and parsed.metadata["cell"] == "cell_b"
    np.testing.assert_allclose(parsed.blocks[0].array("voltage").values,
                               galvanostatic_cycles((20, 18, 16), offset_v=0.1)["voltage"])


# ------------------------------------------------------------------------------------------ detection


def _arbin_sql_h5(path: Path) -> Path:
    """The pandas HDFStore layout of an Arbin SQL export (data_df), as in test_cycling_arbin."""
    data = pd.DataFrame({"Test_ID": [1, 1, 1], "Data_Point": [1, 2, 3], "Date_Time": [15930015334602000 + 10**7 * k
                                                                                      for k in range(3)],
                         "Test_Time": [1.0, 2.0, 3.0], "Cycle_Index": [1, 1, 1], "Step_Index": [1, 1, 1],
                         "Current": [0.001] * 3, "Voltage": [3.01, 3.02, 3.03]})
    with pd.HDFStore(str(path), "w") as h5:
        h5.put("data_df", data, format="table", track_times=False)
    return path


def test_detection_tells_batdata_from_the_arbin_sql_export(write: Writer, store: Repository, tmp_path: Path) -> None:
    ids = [r.info.id for r in readers_for("cycling")]
    assert ids.index(BATDATA) < ids.index(ARBIN)  # batdata is asked first, and claims only its own files
    batdata = write(tmp_path / "cell.h5", galvanostatic_cycles((20,)), {"name": "c"})
    arbin = _arbin_sql_h5(tmp_path / "arbin.h5")
    assert detect_reader("cycling", batdata).info.id == BATDATA
    assert detect_reader("cycling", arbin).info.id == ARBIN
    assert detect_reader("cycling", arbin).read(arbin).blocks[0].array("voltage").values.tolist() == [3.01, 3.02, 3.03]
    # Any other HDF5 still goes to the Arbin reader, which says what it misses.
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as h5:
        h5["spectrum"] = np.arange(3.0)
        h5.attrs["metadata"] = "not json"
    assert detect_reader("cycling", other).info.id == ARBIN
    assert_refused(store, "cycling", other, "without /data_df")


@requires_shared_samples
def test_the_arbin_sample_still_gets_the_arbin_reader() -> None:
    assert detect_reader("cycling", SAMPLES / "cycling/cellpy_20200624_test001_cc_01.h5").info.id == ARBIN


# ------------------------------------------------------------------------------------------ refusals


def _drop(column: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda frame: frame.drop(columns=[column])


def _set(column: str, row: int, value: float) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.copy()
        frame.loc[row, column] = value
        return frame
    return change


@pytest.mark.parametrize(("change", "fragments"), [
    (_drop("voltage"), ("has no column 'voltage'", "requires test_time, voltage and current", "field 'voltage'")),
    (_drop("test_time"), ("has no column 'test_time'", "field 'test_time'")),
    (_set("test_time", 30, 100.0), ("raw_data row 31: test_time goes backwards", "1044 s → 100 s",
                                    "field 'test_time'")),
    (_set("current", 5, float("nan")), ("raw_data row 6: 'current' is nan", "field 'current'")),
    (_set("cycle_number", 7, -1), ("raw_data row 8: 'cycle_number' is -1", "counts from 0")),
], ids=["no-voltage", "no-test-time", "time-backwards", "nan-current", "negative-cycle"])
def test_bad_raw_data_is_refused_naming_file_and_column(write: Writer, store: Repository, tmp_path: Path,
                                                         change: Callable[[pd.DataFrame], pd.DataFrame],
                                                         fragments: tuple[str, ...]) -> None:
    path = write(tmp_path / "bad.h5", change(galvanostatic_cycles((20, 19))), {"name": "bad"})
    assert detect_reader("cycling", path).info.id == BATDATA
    assert_refused(store, "cycling", path, *fragments, BATDATA)


def test_file_without_raw_data_is_refused(write: Writer, store: Repository, tmp_path: Path) -> None:
    stats = pd.DataFrame({"cycle_number": np.arange(3), "capacity_discharge": [0.1, 0.095, 0.09]})
    path = write(tmp_path / "stats.h5", None, {"name": "stats only"}, cycle_stats=stats)
    assert detect_reader("cycling", path).info.id == BATDATA
    assert_refused(store, "cycling", path, "no raw_data table", "['/cycle_stats']", "field 'raw_data'")
    empty = write_with_pytables(tmp_path / "empty.h5", galvanostatic_cycles((20,)).drop(columns=["state"]).iloc[:0],
                                {"name": "empty"})
    assert_refused(store, "cycling", empty, "'/raw_data' holds no rows", "field 'raw_data'")


def test_simulated_data_is_not_ingested_as_a_measurement(write: Writer, store: Repository, tmp_path: Path) -> None:
    path = write(tmp_path / "sim.h5", galvanostatic_cycles((20,)), {"name": "model", "is_measurement": False})
    assert_refused(store, "cycling", path, "is_measurement: false", "field 'is_measurement'")


def test_unit_the_schema_cannot_convert_and_missing_schema_are_refused(store: Repository, tmp_path: Path) -> None:
    path = write_with_pytables(tmp_path / "unit.h5", galvanostatic_cycles((20,)), {"name": "u"})
    with h5py.File(path, "r+") as h5:
        schema = json.loads(h5["raw_data"].attrs["metadata"])
        schema["voltage"]["units"] = "A"
        h5["raw_data"].attrs["metadata"] = json.dumps(schema)
    assert_refused(store, "cycling", path, "'voltage' is in 'A' per its schema", "field 'voltage'")
    with h5py.File(path, "r+") as h5:
        del h5["raw_data"].attrs["metadata"]
    assert_refused(store, "cycling", path, "'/raw_data' has no attribute 'metadata'", "field 'metadata'")


def test_scaled_units_in_the_schema_are_converted(tmp_path: Path) -> None:
    frame = galvanostatic_cycles((20,))
    path = write_with_pytables(tmp_path / "ma.h5", frame.assign(current=frame["current"] * 1000), {"name": "mA"})
    with h5py.File(path, "r+") as h5:
        schema = json.loads(h5["raw_data"].attrs["metadata"])
        schema["current"]["units"] = "mA"
        h5["raw_data"].attrs["metadata"] = json.dumps(schema)
    parsed = detect_reader("cycling", path).read(path)
    np.testing.assert_allclose(parsed.blocks[0].array("current").values, frame["current"], rtol=1e-12)


def test_truncated_file_and_old_batdata_layout_are_refused(write: Writer, store: Repository, tmp_path: Path) -> None:
    path = write(tmp_path / "cell.h5", galvanostatic_cycles(), {"name": "cut"})
    cut = tmp_path / "cut.h5"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    assert detect_reader("cycling", cut).info.id == BATDATA  # by its root attribute in the first bytes
    assert_refused(store, "cycling", cut, "not a readable HDF5 file (truncated or corrupt?)", BATDATA)
    # batdata < 0.4: a pandas frame_table plus the metadata JSON on the root (BatteryDataset.to_batdata_hdf)
    old = tmp_path / "old.h5"
    with pd.HDFStore(str(old), "w") as h5:
        h5.put("raw_data", galvanostatic_cycles((20,)).drop(columns=["state"]), format="table", index=False,
               track_times=False)
        h5.root._v_attrs.metadata = json.dumps({**METADATA_DEFAULTS, "version": "0.3.4", "name": "old"})
    assert detect_reader("cycling", old).info.id == BATDATA
    assert_refused(store, "cycling", old, "a file of batdata < 0.4", "BatteryDataset.to_hdf")


# ------------------------------------------------------------------------------------------ the test writer


@pytest.mark.skipif(not _battdat_available(), reason="battery-data-toolkit not installed")
def test_pytables_writer_matches_battdat_layout(tmp_path: Path) -> None:
    """The PyTables writer (used where battdat is absent) writes what battdat 0.4.6 writes."""
    import battdat

    assert battdat.__version__ == BATTDAT_VERSION
    frame = galvanostatic_cycles((20, 19))
    ours = write_with_pytables(tmp_path / "ours.h5", frame, CELL_METADATA, prefix="cell")
    theirs = write_with_battdat(tmp_path / "theirs.h5", frame, CELL_METADATA, prefix="cell")
    with h5py.File(ours, "r") as a, h5py.File(theirs, "r") as b:
        assert set(a.attrs) == set(b.attrs)
        assert a.attrs["battdat_version"] == b.attrs["battdat_version"]
        assert {k: v for k, v in json.loads(a.attrs["metadata"]).items() if k not in CELL_METADATA} == \
            {k: v for k, v in json.loads(b.attrs["metadata"]).items() if k not in CELL_METADATA}
        assert list(a) == list(b) == ["cell"] and list(a["cell"]) == list(b["cell"]) == ["raw_data"]
        table_a, table_b = a["cell/raw_data"], b["cell/raw_data"]
        assert table_a.dtype == table_b.dtype
        assert set(table_a.attrs) == set(table_b.attrs)
        schema_a, schema_b = (json.loads(t.attrs["metadata"]) for t in (table_a, table_b))
        assert schema_a.keys() == schema_b.keys()
        for column in schema_b:
            if column != "extra_columns":
                assert {k: v for k, v in schema_a[column].items() if k != "description"} == \
                    {k: v for k, v in schema_b[column].items() if k != "description"}, column
        assert table_a[()].tobytes() == table_b[()].tobytes()
