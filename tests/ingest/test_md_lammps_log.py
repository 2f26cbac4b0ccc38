"""LAMMPS log reader: runs against the MANIFEST oracle, units, ensembles and bad-input errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from battkg.errors import FormatError
from battkg.ingest.md import lammps_log
from battkg.readers import ParsedFile, detect_reader
from tests.conftest import manifest_entries, requires_shared_samples, sample_path

LOGS = manifest_entries("md", formats=("lammps-log",))


def _read(entry: dict) -> ParsedFile:
    path = sample_path(entry)
    reader = detect_reader("md", path)
    assert reader.info.id == "md.lammps.log"
    return reader.read(path)


def _oracle_runs(entry: dict) -> tuple[list[dict], bool]:
    """(runs, is_multi) from either oracle style (lammps-logfile runs or the by-hand multi count)."""
    oracle = entry["oracle"]
    if oracle.get("multi_runs"):
        return oracle["multi_runs"], True
    return oracle["runs"], False


@requires_shared_samples
@pytest.mark.parametrize("entry", LOGS)
def test_one_block_per_run_with_oracle_rows_and_steps(entry: dict) -> None:
    parsed = _read(entry)
    runs, multi = _oracle_runs(entry)
    assert len(parsed.blocks) == len(runs) == parsed.metadata["n_runs"]
    assert sum(len(b.array("step").values) for b in parsed.blocks) == entry["oracle"]["n_points"]
    for block, run in zip(parsed.blocks, runs, strict=True):
        steps = block.array("step").values
        assert len(steps) == (run["n_blocks"] if multi else run["n_rows"])
        assert (steps[0], steps[-1]) == (run["step_first"], run["step_last"])
        assert block.metadata["thermo_style"] == ("multi" if multi else "custom")


@requires_shared_samples
@pytest.mark.parametrize("entry", LOGS)
def test_thermo_values_match_oracle(entry: dict) -> None:
    parsed = _read(entry)
    runs, multi = _oracle_runs(entry)
    names = {"Temp": "temperature", "TotEng": "total_energy", "PotEng": "potential_energy"}
    checked = 0
    for block, run in zip(parsed.blocks, runs, strict=True):
        for keyword, name in names.items():
            first, last = ((run.get(f"{keyword}_first"), run.get(f"{keyword}_last")) if multi
                           else (run.get(keyword, {}).get("first"), run.get(keyword, {}).get("last")))
            if first is None:
                continue
            values = block.array(name).values
            assert (values[0], values[-1]) == pytest.approx((first, last), rel=1e-6)
            checked += 1
    assert checked > 0


@requires_shared_samples
@pytest.mark.parametrize("entry", [e for e in LOGS if "runs" in e.values[0]["oracle"]])
def test_keywords_match_oracle(entry: dict) -> None:
    parsed = _read(entry)
    for block, run in zip(parsed.blocks, entry["oracle"]["runs"], strict=True):
        assert sorted(block.metadata["keywords"]) == sorted(run["keywords"])
        assert [a.name for a in block.arrays if a.quantity == ""] == [
            k for k in block.metadata["keywords"] if k not in lammps_log._MAPPED]


@requires_shared_samples
@pytest.mark.parametrize("entry", LOGS)
def test_version_and_reduced_units(entry: dict) -> None:
    parsed = _read(entry)
    versions = [c.get("lammps_version") for c in [entry["oracle"], *entry.get("cross_checks", [])]]
    assert parsed.metadata["software_version"] in versions
    assert parsed.metadata["units_style"] == "lj"  # all three samples are Lennard-Jones runs
    temperature = parsed.blocks[-1].array("temperature")
    assert temperature.quantity == "ThermodynamicTemperature" and temperature.unit == "dimensionless"
    assert parsed.blocks[-1].metadata["reduced_units"] is True


REAL_LOG = """LAMMPS (2 Aug 2023 - Update 1)
units           real
atom_style      full
pair_style      lj/cut/coul/long 10.0
Created 300 atoms
timestep        2.0
fix             1 all npt temp 300.0 330.0 100.0 iso 1.0 1.0 1000.0
thermo_style    custom step temp press pe etotal density vol
run             100
Per MPI rank memory allocation (min/avg/max) = 4.0 | 4.0 | 4.0 Mbytes
   Step          Temp          Press          PotEng         TotEng        Density         Volume
         0     300.0          1.5           -1000.0        -800.0          1.2            25000.0
        50     310.0        -20.25          -1001.0        -799.0          1.21           24900.0
WARNING: something harmless (src/fix.cpp:1)
       100     330.0          3.0           -1002.0        -798.0          1.22           24800.0
Loop time of 1.5 on 2 procs for 100 steps with 300 atoms
unfix           1
fix             2 all nvt temp 330.0 330.0 100.0
run             400
   Step          Temp          Press          PotEng         TotEng        Density         Volume
       100     330.0          3.0           -1002.0        -798.0          1.22           24800.0
       500     331.0          2.0           -1003.0        -797.0          1.22           24800.0
Loop time of 6.0 on 2 procs for 400 steps with 300 atoms
"""


def _write(tmp_path: Path, text: str, name: str = "log.lammps") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_real_units_ensembles_and_simulated_time(tmp_path: Path) -> None:
    parsed = lammps_log.read(_write(tmp_path, REAL_LOG))
    first, second = parsed.blocks
    units = {a.name: a.unit for a in first.arrays}
    assert units == {"step": "dimensionless", "temperature": "K", "pressure": "atm", "potential_energy": "kcal/mol",
                     "total_energy": "kcal/mol", "density": "g/cm**3", "volume": "angstrom**3"}
    assert first.array("pressure").values[1] == -20.25
    assert (first.metadata["ensemble"], first.metadata["thermostat"]) == ("NPT", "Nose-Hoover")
    assert second.metadata["ensemble"] == "NVT"
    assert parsed.metadata["ensemble"] == "NVT"  # the longest run
    assert parsed.metadata["force_field"] == "lj/cut/coul/long"
    assert parsed.metadata["n_atoms"] == 300
    q = {(s.quantity, s.label): s for s in parsed.quantities}
    assert (q[("Timestep", "integration")].value, q[("Timestep", "integration")].unit) == (2.0, "fs")
    assert q[("SimulatedTime", None)].value == pytest.approx(500 * 2.0 / 1000)  # 500 steps × 2 fs, in ps
    assert (q[("ThermodynamicTemperature", "thermostat target")].value,
            q[("ThermodynamicTemperature", "thermostat target")].unit) == (330.0, "K")
    assert any("WARNING: something harmless" in w for w in parsed.warnings)


def test_metal_units_from_option_when_the_log_has_no_units_command(tmp_path: Path) -> None:
    text = REAL_LOG.replace("units           real\n", "")
    path = _write(tmp_path, text)
    with pytest.raises(FormatError) as info:
        lammps_log.read(path)
    assert info.value.field == "units" and str(path) in str(info.value)
    parsed = lammps_log.read(path, units="metal")
    assert parsed.blocks[0].array("pressure").unit == "bar"
    assert parsed.metadata["units_source"] == "option units="


@pytest.mark.parametrize(
    ("content", "expected", "line"),
    [
        ("", "file is empty", None),
        ("LAMMPS (2 Aug 2023)\nunits real\nrun 0\n", "no thermo output found", None),
        (REAL_LOG.replace("310.0        -20.25", "310.0        abc"),
         "non-numeric value 'abc' in thermo column 'Press'", 13),
        (REAL_LOG.replace("       100     330.0          3.0           -1002.0        -798.0          1.22"
                          "           24800.0\nLoop time of 1.5", "       100     330.0\nLoop time of 1.5"),
         "thermo row has 2 value(s), the header names 7", 15),
        (REAL_LOG.replace("TotEng =", "").replace("units           real", "units           furlong"),
         "unknown LAMMPS units style 'furlong'", None),
    ],
    ids=["empty", "no-thermo", "non-numeric-row", "truncated-row", "unknown-units"],
)
def test_log_rejects_bad_input(tmp_path: Path, content: str, expected: str, line: int | None) -> None:
    path = _write(tmp_path, content)
    with pytest.raises(FormatError) as info:
        lammps_log.read(path)
    assert expected in str(info.value)
    assert str(path) in str(info.value)
    if line is not None:
        assert info.value.line == line


def test_multi_block_with_non_numeric_value_names_the_line(tmp_path: Path) -> None:
    text = ("LAMMPS (2 Aug 2023)\nunits lj\nthermo_style multi\nrun 10\n"
            "------------ Step              0 ----- CPU =            0 (sec) -------------\n"
            "TotEng   =        -5.2737 KinEng   =         1.4996 Temp     =         1.0000\n"
            "PotEng   =        -6.7734 E_bond   =         oops   E_angle  =         0.0000\n"
            "Loop time of 0.1 on 1 procs for 10 steps with 10 atoms\n")
    path = _write(tmp_path, text)
    with pytest.raises(FormatError) as info:
        lammps_log.read(path)
    assert "non-numeric value 'oops' for 'E_bond'" in str(info.value)
    assert info.value.line == 7


def test_run_cut_short_keeps_rows_and_warns(tmp_path: Path) -> None:
    text = REAL_LOG.split("Loop time of 6.0")[0]
    parsed = lammps_log.read(_write(tmp_path, text))
    assert len(parsed.blocks) == 2 and len(parsed.blocks[1].array("step").values) == 2
    assert any("ends inside the run" in w for w in parsed.warnings)
