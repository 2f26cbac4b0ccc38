"""Arbin readers: .res (Access), SQL-export HDF5, MITS Pro .xlsx (and the same columns as .csv).

The shared samples are compared with their MANIFEST oracle (mdb-export, pandas HDFStore) and with
cellpy's cross-check; the .xlsx layout has no sample and is built here with openpyxl.  Bad input goes
through ``ingest_file`` and must leave the store unchanged.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd
import pytest

from battkg.ingest.pipeline import ingest_file
from battkg.ingest.technique import UserMetadata
from battkg.readers import detect_reader
from battkg.store import Repository, open_repository
from tests.conftest import SAMPLES, manifest_entries, requires_shared_samples
from tests.helpers import assert_refused

RES = SAMPLES / "cycling/cellpy_20160805_test001_45_cc_01.res"
SQL_H5 = SAMPLES / "cycling/cellpy_20200624_test001_cc_01.h5"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Repository]:
    repository = open_repository(tmp_path_factory.mktemp("arbin") / "store")
    yield repository
    repository.close()


def _oracle(path: Path) -> dict[str, Any]:
    (entry,) = [e.values[0] for e in manifest_entries("cycling") if e.values[0]["path"] == f"cycling/{path.name}"]
    return entry


# ------------------------------------------------------------------------------------------ .res


@requires_shared_samples
def test_res_matches_the_mdbtools_oracle_and_global_table() -> None:
    reader = detect_reader("cycling", RES)
    assert reader.info.id == "cycling.arbin.res"
    parsed = reader.read(RES)
    oracle = _oracle(RES)["oracle"]
    block = parsed.blocks[0]
    voltage, current = block.array("voltage").values, block.array("current").values
    assert voltage.size == oracle["Channel_Normal_Table_rows"]
    for values, key in ((voltage, "Voltage"), (current, "Current")):
        for stat, value in (("first", values[0]), ("last", values[-1]), ("min", values.min()), ("max", values.max())):
            assert value == pytest.approx(oracle[key][stat], rel=1e-6, abs=1e-12), (key, stat)
    assert np.unique(block.array("cycle_index").values).size == oracle["n_cycles"]
    assert np.all(np.diff(block.array("time").values) >= 0)
    glob = oracle["Global_Table"]
    meta = parsed.metadata
    assert meta["test_name"] == glob["Test_Name"]
    assert meta["schedule"] == glob["Schedule_File_Name"]
    assert meta["software_version"] == glob["Software_Version"]
    assert meta["channel"] == glob["Channel_Number"]
    # OLE date 42587.678... = 2016-08-05 16:16:23 (days since 1899-12-30)
    assert meta["start_time"] == datetime(2016, 8, 5, 16, 16, 23)
    (mass,) = parsed.quantities
    assert (mass.quantity, mass.unit) == ("ActiveMass", "g")
    assert mass.value == pytest.approx(float(glob["MASS"]), rel=1e-7)


@requires_shared_samples
@pytest.mark.parametrize(("size", "fragment"), [
    (3000, "not a whole number of 4096-byte database pages"),
    (409600, "the table definition counts 10261 rows but only 2720 are readable"),
    (1228800, "damaged database pages"),
])
def test_truncated_res_is_refused_naming_the_table(store: Repository, tmp_path: Path, size: int,
                                                   fragment: str) -> None:
    path = tmp_path / "cut.res"
    path.write_bytes(RES.read_bytes()[:size])
    assert_refused(store, "cycling", path, fragment, "cycling.arbin.res")


@requires_shared_samples
def test_res_unknown_test_id_is_refused(store: Repository) -> None:
    assert_refused(store, "cycling", RES, "no rows with Test_ID 7", "Test_ID [1]", test_id=7)


# ------------------------------------------------------------------------------------------ SQL HDF5


@requires_shared_samples
def test_sql_h5_keeps_every_record_of_the_restarted_test_in_wall_clock_order() -> None:
    reader = detect_reader("cycling", SQL_H5)
    assert reader.info.id == "cycling.arbin.sql_h5"
    parsed = reader.read(SQL_H5)
    oracle = _oracle(SQL_H5)["oracle"]
    with pd.HDFStore(str(SQL_H5), "r") as h5:
        data = h5["data_df"]
    block = parsed.blocks[0]
    time = block.array("time").values
    assert time.size == oracle["n_points"] == len(data)
    assert sorted(parsed.raw_metadata["test_ids"]) == oracle["distinct_Test_ID"]
    np.testing.assert_allclose(block.array("arbin_test_time").values, data["Test_Time"].to_numpy())
    np.testing.assert_allclose(block.array("voltage").values, data["Voltage"].to_numpy())
    assert np.all(np.diff(time) >= 0)
    # time = first Test_Time + Date_Time elapsed (100 ns ticks)
    ticks = data["Date_Time"].to_numpy()
    assert time[-1] == pytest.approx(data["Test_Time"].iloc[0] + (ticks[-1] - ticks[0]) / 1e7)
    assert any("Test_ID [1, 2, 3]" in w for w in parsed.warnings)
    assert parsed.metadata["start_time"].isoformat().startswith("2020-06-24T12:25:33")
    assert parsed.metadata["test_name"] == "20200624_test001_cc_01"


@requires_shared_samples
def test_cellpys_34_points_are_the_first_row_per_data_point_number() -> None:
    """Documents the cellpy cross-check: keeping one row per Data_Point mixes the three tests."""
    entry = _oracle(SQL_H5)
    (cellpy,) = [c for c in entry["cross_checks"] if "arbin_sql_h5" in c["reader"]]
    with pd.HDFStore(str(SQL_H5), "r") as h5:
        data = h5["data_df"]
    first_per_point = data.drop_duplicates("Data_Point", keep="first")
    assert len(first_per_point) == cellpy["n_points"] == 34
    assert sorted(first_per_point["Test_ID"].unique().tolist()) == [1, 2, 3]  # a mixture of the three runs
    for column, key in (("Voltage", "voltage"), ("Current", "current")):
        assert first_per_point[column].min() == pytest.approx(cellpy[key]["min"], rel=1e-6)
        assert first_per_point[column].max() == pytest.approx(cellpy[key]["max"], rel=1e-6)
    assert first_per_point["Voltage"].iloc[-1] == pytest.approx(cellpy["voltage"]["last"], rel=1e-6)


@requires_shared_samples
def test_sql_h5_one_test_by_option() -> None:
    reader = detect_reader("cycling", SQL_H5)
    third = reader.read(SQL_H5, test_id=3)
    block = third.blocks[0]
    assert block.array("time").values.size == 34
    assert [a.name for a in block.arrays if a.name == "arbin_test_time"] == []  # Test_Time is monotonic: used as is
    assert block.array("time").values[-1] == pytest.approx(1860.3079)
    second = reader.read(SQL_H5, test_id=2)  # Test_Time goes back within test 2 (a resume): wall clock
    assert second.blocks[0].array("time").values.size == 11
    assert np.all(np.diff(second.blocks[0].array("time").values) > 0)


def _sql_h5(path: Path, channels: tuple[int, int]) -> Path:
    rows = []
    for test_id in (1, 2):
        for point in range(1, 4):
            rows.append({"Test_ID": test_id, "Data_Point": point, "Date_Time": 15930015334602000 + 10**7 * (
                10 * test_id + point), "Test_Time": float(point), "Cycle_Index": 1, "Step_Index": 1,
                "Current": 0.001, "Voltage": 3.0 + 0.01 * point, "Charge_Capacity": 1e-6 * point,
                "Discharge_Capacity": 0.0})
    stat = pd.DataFrame({"Test_ID": [1, 2], "Channel_ID": list(channels), "Test_Name": ["cell-a", "cell-a"]})
    with pd.HDFStore(str(path), "w") as h5:
        h5.put("data_df", pd.DataFrame(rows), format="table", track_times=False)
        h5.put("stat_df", stat, format="table", track_times=False)
    return path


def test_sql_h5_tests_on_different_channels_are_refused_unless_one_is_chosen(store: Repository,
                                                                             tmp_path: Path) -> None:
    path = _sql_h5(tmp_path / "two.h5", channels=(2, 5))
    assert_refused(store, "cycling", path, "2 Arbin tests (Test_ID [1, 2])", "test_id=N", "field 'Test_ID'")
    parsed = detect_reader("cycling", path).read(path, test_id=2)
    assert parsed.blocks[0].array("voltage").values.tolist() == [3.01, 3.02, 3.03]
    joined = detect_reader("cycling", _sql_h5(tmp_path / "one.h5", channels=(2, 2))).read(tmp_path / "one.h5")
    assert joined.blocks[0].array("time").values.tolist() == [1.0, 2.0, 3.0, 11.0, 12.0, 13.0]


def test_sql_h5_damaged_or_foreign_is_refused(store: Repository, tmp_path: Path) -> None:
    path = _sql_h5(tmp_path / "run.h5", channels=(2, 2))
    cut = tmp_path / "cut.h5"
    cut.write_bytes(path.read_bytes()[:4000])
    assert_refused(store, "cycling", cut, "truncated file", "cycling.arbin.sql_h5")
    other = tmp_path / "other.h5"
    with pd.HDFStore(str(other), "w") as h5:
        h5.put("spectrum", pd.DataFrame({"x": [1.0]}), track_times=False)
    assert_refused(store, "cycling", other, "without /data_df", "['/spectrum']")


# ------------------------------------------------------------------------------------------ .xlsx / .csv

COLUMNS = ["Data_Point", "Test_Time(s)", "Date_Time", "Step_Time(s)", "Step_Index", "Cycle_Index", "Current(A)",
           "Voltage(V)", "Charge_Capacity(Ah)", "Discharge_Capacity(Ah)", "Charge_Energy(Wh)",
           "Discharge_Energy(Wh)", "dV/dt(V/s)", "Internal_Resistance(Ohm)", "Aux_Temperature_1(C)"]


def _channel_rows(n_cycles: int = 3, per_half: int = 20) -> list[list[Any]]:
    """A constant-current run: charge at +1 mA then discharge at -1 mA, 60 s per point."""
    rows, point, t = [], 1, 0.0
    for cycle in range(1, n_cycles + 1):
        for step, current in ((1, 0.001), (2, -0.001)):
            for k in range(per_half):
                t += 60.0
                q = abs(current) * 60.0 * (k + 1) / 3600.0
                voltage = (3.4 + 0.03 * k) if current > 0 else (4.0 - 0.03 * k)
                rows.append([point, t, datetime(2023, 3, 1, 9, 0, 0).replace(minute=0) if point == 1 else
                             f"03/01/2023 {9 + int(t) // 3600:02d}:{int(t) % 3600 // 60:02d}:00", 60.0 * (k + 1),
                             step, cycle, current, voltage, q if current > 0 else 0.0, q if current < 0 else 0.0,
                             q * voltage if current > 0 else 0.0, q * voltage if current < 0 else 0.0, 0.0005, 0.12,
                             25.0 + 0.01 * k])
                point += 1
    return rows


def _workbook(path: Path, rows: list[list[Any]], *, sheets: tuple[str, ...] = ("Channel_1-006",),
              split: int | None = None) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    info = book.active
    info.title = "Global_Info"
    info.append(["TEST REPORT"])
    info.append([])
    info.append(["Channel", "Start DateTime", "Test Name", "Schedule File Name", "Creator", "Comments",
                 "Software Version", "Schedule Version", "Mass(g)", "Specific Capacity(mAh/g)", "Capacity(Ah)"])
    info.append(["1-006", datetime(2023, 3, 1, 9, 0, 0), "NMC811-Gr-03", "CC_1mA.sdx", "jdoe", "formation",
                 "MITS Pro 8.0", "Schedule Version 8.00.11", 0.0123, 180.0, 0.0022])
    for name in sheets:
        chunks = [rows] if split is None else [rows[:split], rows[split:]]
        for index, chunk in enumerate(chunks):
            sheet = book.create_sheet(name if index == 0 else f"{name}_{index}")
            sheet.append(COLUMNS)
            for row in chunk:
                sheet.append(row)
    stats = book.create_sheet("Statistics_1-006")
    stats.append(["Channel", "Cycle_Index", "Charge_Capacity(Ah)"])
    book.save(path)
    return path


def test_arbin_xlsx_through_ingest_and_the_csv_export_give_the_same_arrays(store: Repository,
                                                                           tmp_path: Path) -> None:
    rows = _channel_rows()
    path = _workbook(tmp_path / "run.xlsx", rows, split=50)  # Channel_1-006 + continuation Channel_1-006_1
    reader = detect_reader("cycling", path)
    assert reader.info.id == "cycling.arbin.xlsx"
    parsed = reader.read(path)
    block = parsed.blocks[0]
    expected = np.array([[r[1], r[7], r[6], r[8], r[9], r[5], r[4], r[14]] for r in rows], dtype=float)
    names = ("time", "voltage", "current", "charge_capacity", "discharge_capacity", "cycle_index", "step_index",
             "temperature")
    for column, name in enumerate(names):
        np.testing.assert_allclose(block.array(name).values, expected[:, column], err_msg=name)
    assert block.array("temperature").unit == "degC"
    assert parsed.raw_metadata["data_sheets"] == ["Channel_1-006", "Channel_1-006_1"]
    meta = parsed.metadata
    assert (meta["test_name"], meta["channel"], meta["schedule"], meta["comment"]) == (
        "NMC811-Gr-03", "1-006", "CC_1mA.sdx", "formation")
    assert meta["start_time"] == datetime(2023, 3, 1, 9, 0, 0) and meta["n_cycles"] == 3
    assert [(q.quantity, q.value, q.unit) for q in parsed.quantities] == [("ActiveMass", 0.0123, "g")]

    result = ingest_file(store, "cycling", path, UserMetadata(sample="NMC811-Gr-03"))
    assert result.record_iri
    # The Arbin .csv export has the same columns: the CSV reader maps them the same way.
    csv = tmp_path / "run.csv"
    pd.DataFrame(rows, columns=COLUMNS).to_csv(csv, index=False)
    from_csv = detect_reader("cycling", csv)
    assert from_csv.info.id == "cycling.arbin.bdf_csv"
    csv_block = from_csv.read(csv).blocks[0]
    for name in names[:-1]:
        np.testing.assert_allclose(csv_block.array(name).values, block.array(name).values, err_msg=name)


def test_arbin_xlsx_bad_cell_names_sheet_row_and_column(store: Repository, tmp_path: Path) -> None:
    rows = _channel_rows(n_cycles=1)
    rows[6][7] = "OVL"  # an overload marker in Voltage(V), data row 7 = sheet row 8
    path = _workbook(tmp_path / "bad.xlsx", rows)
    error = assert_refused(store, "cycling", path, "sheet 'Channel_1-006'", "'OVL'", "line 8", "field 'Voltage(V)'")
    assert error.line == 8


def test_arbin_xlsx_several_channels_need_a_choice(store: Repository, tmp_path: Path) -> None:
    path = _workbook(tmp_path / "two.xlsx", _channel_rows(n_cycles=1), sheets=("Channel_1-006", "Channel_1-007"))
    assert_refused(store, "cycling", path, "2 channels ['Channel_1-006', 'Channel_1-007']", "channel=")
    parsed = detect_reader("cycling", path).read(path, channel="Channel_1-007")
    assert parsed.raw_metadata["data_sheets"] == ["Channel_1-007"]
    assert_refused(store, "cycling", path, "no data sheet 'Channel_9'", channel="Channel_9")


def test_arbin_xlsx_truncated_or_without_data_sheet_is_refused(store: Repository, tmp_path: Path) -> None:
    path = _workbook(tmp_path / "run.xlsx", _channel_rows(n_cycles=1))
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(path.read_bytes()[:2000])
    assert_refused(store, "cycling", cut, "not a readable .xlsx workbook")
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "Sheet1"
    book.save(tmp_path / "plain.xlsx")
    assert_refused(store, "cycling", tmp_path / "plain.xlsx", "no Arbin data sheet", "['Sheet1']")
