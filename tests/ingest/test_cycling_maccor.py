"""Maccor text export: the shared sample vs its pandas oracle, the Md sign convention, the TestTime unit, bad input."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import pytest

from battkg.errors import FormatError
from battkg.ingest.pipeline import ingest_file
from battkg.ingest.technique import UserMetadata
from battkg.readers import detect_reader
from battkg.store import Repository, open_repository
from tests.conftest import SAMPLES, requires_shared_samples
from tests.helpers import assert_refused, snapshot

SAMPLE = SAMPLES / "cycling/cellpy_maccor_002.txt"
HEADER = ("Name:\tCELL-7.053\nChannel:\t53\nTester\tMaccor #4\nProcedure\tCC_TEST.000\n"
          "Description\tcapacity test   \x04   \x03 \xff\xff\nStarted\t5/11/2021 3:40:24 PM\nSCap\t0.017\n\n")
COLUMNS = "Rec\tCycle P\tCycle C\tStep\tTestTime\tStepTime\tCap. [Ah]\tEner. [Wh]\tCurrent [A]\tVoltage [V]\tMd\tES\t" \
          "DPT Time\n"
START = datetime(2021, 5, 11, 15, 40, 24)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Repository]:
    repository = open_repository(tmp_path_factory.mktemp("maccor") / "store")
    yield repository
    repository.close()


def _rows(minutes_per_unit: float = 1.0) -> list[list[str]]:
    """Rest, charge (C) and discharge (D), one record a minute; TestTime in minutes unless told otherwise."""
    rows, record = [], 1
    for step, mode, n in ((1, "R", 3), (2, "C", 6), (3, "D", 6)):
        for k in range(n):
            minute = record - 1
            current = 0.0 if mode == "R" else 0.002
            stamp = (START + timedelta(minutes=minute)).strftime("%-m/%-d/%Y %-I:%M:%S %p")
            rows.append([str(record), "0", "1", str(step), f"{minute / minutes_per_unit:.6f}", f"{k:.6f}",
                         f"{current * (k + 1) / 60:.8f}", "0.0", f"{current:.8f}",
                         f"{3.5 + 0.05 * k if mode == 'C' else 3.8 - 0.05 * k:.4f}", mode, "0", stamp])
            record += 1
    return rows


def _write(path: Path, rows: list[list[str]], columns: str = COLUMNS, header: str = HEADER) -> Path:
    body = "".join("\t".join(r) + "\t\n" for r in rows)  # Maccor ends every row with a tab
    path.write_bytes((header + columns + "\n" + body).encode("latin-1"))
    return path


@requires_shared_samples
def test_sample_matches_pandas_oracle_with_sign_from_md_and_minutes_from_the_wall_clock() -> None:
    reader = detect_reader("cycling", SAMPLE)
    assert reader.info.id == "cycling.maccor.txt"
    parsed = reader.read(SAMPLE)
    table = pd.read_csv(SAMPLE, sep="\t", skiprows=13, encoding="latin-1", index_col=False)
    block = parsed.blocks[0]
    current = block.array("current").values
    assert current.size == len(table) == 7446
    sign = table["Md"].map({"C": 1.0, "D": -1.0, "R": 0.0}).to_numpy()
    np.testing.assert_allclose(current, sign * table["Current [A]"].to_numpy())
    assert np.all(current[table["Md"].to_numpy() == "C"] > 0) and np.all(current[table["Md"].to_numpy() == "D"] < 0)
    np.testing.assert_allclose(block.array("charge_capacity").values,
                               np.where(table["Md"] == "C", table["Cap. [Ah]"], 0.0))
    np.testing.assert_allclose(block.array("discharge_capacity").values,
                               np.where(table["Md"] == "D", table["Cap. [Ah]"], 0.0))
    # TestTime is in minutes: 3809.84 units over the 63.5 h the DPT Time column spans.
    np.testing.assert_allclose(block.array("time").values, table["TestTime"].to_numpy() * 60.0)
    assert parsed.raw_metadata["time_unit"].startswith("min")
    assert block.array("cycle_index").values.tolist() == table["Cycle C"].tolist()
    meta = parsed.metadata
    assert meta["start_time"] == START and meta["channel"] == "53" and meta["instrument"] == "Maccor #4"
    assert meta["comment"] == "SIMBA-Capacity_test"  # control bytes and 0xFF padding removed


def test_synthetic_export_through_ingest(store: Repository, tmp_path: Path) -> None:
    path = _write(tmp_path / "run.txt", _rows())
    result = ingest_file(store, "cycling", path, UserMetadata(sample="CELL-7"))
    assert result.record_iri
    parsed = detect_reader("cycling", path).read(path)
    assert parsed.blocks[0].array("time").values[-1] == pytest.approx(14 * 60.0)
    assert parsed.metadata["comment"] == "capacity test"
    seconds = _write(tmp_path / "seconds.txt", _rows(minutes_per_unit=1 / 60))
    assert detect_reader("cycling", seconds).read(seconds).raw_metadata["time_unit"].startswith("s ")


def test_bad_value_is_reported_with_its_file_line(store: Repository, tmp_path: Path) -> None:
    rows = _rows()
    rows[4][9] = "#VALUE"  # data row 5; header 8 lines + column line + blank line → file line 15
    error = assert_refused(store, "cycling", _write(tmp_path / "bad.txt", rows), "'#VALUE'", "line 15", "field 'Voltage [V]'")
    assert error.line == 15


def test_current_in_a_mode_without_known_sign_is_refused(store: Repository, tmp_path: Path) -> None:
    rows = _rows()
    rows[1][8], rows[1][10] = "0.00200000", "O"  # current during "O" (other): direction unknown
    assert_refused(store, "cycling", _write(tmp_path / "mode.txt", rows), "mode 'O'", "line 12", "field 'Md'")


def test_time_unit_must_be_known(store: Repository, tmp_path: Path) -> None:
    rows = [r[:-1] for r in _rows()]
    path = _write(tmp_path / "nodpt.txt", rows, columns=COLUMNS.replace("\tDPT Time", ""))
    assert_refused(store, "cycling", path, "no 'DPT Time' column", "time_unit=")
    parsed = detect_reader("cycling", path).read(path, time_unit="min")
    assert parsed.blocks[0].array("time").values[-1] == pytest.approx(14 * 60.0)
    odd = _write(tmp_path / "odd.txt", _rows(minutes_per_unit=7.0))
    assert_refused(store, "cycling", odd, "not s, min or h")


def test_missing_column_header_or_truncated_file_is_refused(store: Repository, tmp_path: Path) -> None:
    good = _write(tmp_path / "run.txt", _rows()).read_bytes()
    headless = tmp_path / "headless.txt"
    headless.write_bytes(good.replace(b"Rec\tCycle P", b"Record\tCycle P"))
    # without the Rec header line no reader sniffs it as Maccor; asking for the format names the rule
    before = snapshot(store)
    with pytest.raises(FormatError, match="no column header line starting 'Rec<TAB>'"):
        ingest_file(store, "cycling", headless, UserMetadata(sample="S-1"), format_id="cycling.maccor.txt")
    assert snapshot(store) == before
    cut = tmp_path / "cut.txt"
    cut.write_bytes(good[: good.index(b"\n3\t0\t1") + 30])  # ends inside record 3
    assert_refused(store, "cycling", cut, "line 13")
