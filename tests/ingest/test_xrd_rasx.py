"""Rigaku RASX reader: MANIFEST conformance, attenuator correction, bad input."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from battkg.errors import FormatError
from battkg.ingest.xrd import rigaku_rasx
from battkg.readers import detect_reader
from tests.conftest import manifest_entries, requires_shared_samples, sample_path
from tests.ingest.test_xrd_oracle import assert_matches_oracle

READER_ID = "xrd.rigaku.rasx"


@requires_shared_samples
@pytest.mark.parametrize("entry", manifest_entries("xrd", formats=("rigaku-rasx",)))
def test_rasx_matches_oracle(entry: dict) -> None:
    path = sample_path(entry)
    reader = detect_reader("xrd", path)
    assert reader.info.id == READER_ID
    parsed = reader.read(path)
    assert len(parsed.blocks) == 1
    assert_matches_oracle(parsed, entry)
    block = parsed.blocks[0]
    assert block.array("intensity").unit == "count"  # IntensityUnit=counts in the file
    assert parsed.metadata["start_time"].tzinfo is not None
    assert parsed.metadata["instrument"] == "SmartLabXE"
    # No Kα2/Kα1 ratio in the file: not invented (fairmat-readers-xrd fills in 0.5).
    assert "KAlphaRatio" not in {q.quantity for q in parsed.quantities}
    (counting,) = [q for q in block.quantities if q.quantity == "CountingTime"]
    scan = block.metadata["scan_range"]
    assert counting.value == pytest.approx(float(scan["step"]) / float(scan["speed"]) * 60)
    assert parsed.raw_metadata["ras_header"]["Data0/MesurementConditions0.xml"]["*MEAS_SCAN_AXIS_X"]


CONDITIONS = """<?xml version="1.0" encoding="utf-8"?>
<MeasurementConditions>
  <GeneralInformation><Operator>Ada</Operator><SampleName>LNMO</SampleName><SystemName>MiniFlex</SystemName>
  </GeneralInformation>
  <HWConfigurations><Categories><Category Name="Goniometer" SelectedUnit="MiniFlex" /></Categories>
    <XrayGenerator><TargetName>Cu</TargetName><WaveType>Ka</WaveType><Current>15</Current><CurrentUnit>mA</CurrentUnit>
      <Voltage>40</Voltage><VoltageUnit>kV</VoltageUnit><WavelengthKalpha1>1.540593</WavelengthKalpha1>
    </XrayGenerator></HWConfigurations>
  <ScanInformation><AxisName>{axis}</AxisName><Mode>{mode}</Mode><Start>10</Start><Stop>10.3</Stop><Step>0.1</Step>
    <Speed>{speed}</Speed><SpeedUnit>{speed_unit}</SpeedUnit><PositionUnit>deg</PositionUnit>
    <IntensityUnit>{unit}</IntensityUnit><StartTime>2021-05-05T10:35:31Z</StartTime><DataCount>{count}</DataCount>
  </ScanInformation>
  <RASHeader><Pair><string>*HW_GONIOMETER_NAME</string><string>MiniFlex-Gonio</string></Pair></RASHeader>
</MeasurementConditions>"""
PROFILE = "\ufeff10.0000\t100\t1\r\n10.1000\t200\t1\r\n10.2000\t30\t100\r\n10.3000\t40\t1\r\n"


def _rasx(tmp_path: Path, profile: str | None = PROFILE, *, name: str = "scan.rasx", axis: str = "TwoTheta",
          mode: str = "CONTINUOUS", speed: str = "2", speed_unit: str = "deg/min", unit: str = "counts",
          count: int = 4, conditions: bool = True) -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        if profile is not None:
            archive.writestr("Data0/Profile0.txt", profile.encode("utf-8"))
        if conditions:
            archive.writestr("Data0/MesurementConditions0.xml", CONDITIONS.format(
                axis=axis, mode=mode, speed=speed, speed_unit=speed_unit, unit=unit, count=count))
        archive.writestr("root.xml", "<Root />")
    return path


def test_rasx_attenuator_coefficient_is_applied(tmp_path: Path) -> None:
    parsed = rigaku_rasx.read(_rasx(tmp_path))
    block = parsed.blocks[0]
    np.testing.assert_allclose(block.array("two_theta").values, [10, 10.1, 10.2, 10.3])
    np.testing.assert_allclose(block.array("intensity").values, [100, 200, 3000, 40])
    np.testing.assert_allclose(block.array("raw_intensity").values, [100, 200, 30, 40])
    assert parsed.metadata["goniometer"] == "MiniFlex-Gonio"
    assert parsed.metadata["radiation"] == "Cu Kα"
    assert parsed.metadata["sample_name"] == "LNMO"
    assert next(q for q in block.quantities if q.quantity == "CountingTime").value == pytest.approx(3.0)


def test_rasx_step_scan_in_cps(tmp_path: Path) -> None:
    block = rigaku_rasx.read(_rasx(tmp_path, mode="STEP", speed="4", speed_unit="sec", unit="cps")).blocks[0]
    assert block.array("intensity").unit == "count/s"
    assert block.metadata["scan_mode"] == "step"
    assert next(q for q in block.quantities if q.quantity == "CountingTime").value == 4.0


def test_renamed_rasx_is_detected_by_content(tmp_path: Path) -> None:
    path = _rasx(tmp_path, name="x.dat")
    reader = detect_reader("xrd", path)
    assert reader.info.id == READER_ID
    assert reader.read(path).blocks[0].array("intensity").values.size == 4


@pytest.mark.parametrize(
    ("kwargs", "expected", "line"),
    [
        ({"profile": PROFILE.replace("200", "2O0")}, "non-numeric value '2O0'", 2),
        ({"profile": ""}, "empty data block", None),
        ({"profile": PROFILE + "10.4000\t50\n"}, "row has 2 column(s), expected 3", 5),
        ({"count": 7}, "inconsistent point counts: DataCount says 7", None),
        ({"axis": "Omega"}, "scan axis 'Omega' is not a 2θ axis", None),
        ({"unit": "furlongs"}, "unknown intensity unit 'furlongs'", None),
        ({"conditions": False}, "MesurementConditions0.xml' (conditions of 'Data0/Profile0.txt') is missing", None),
        ({"profile": None}, "no Data<N>/Profile<k>.txt member", None),
    ],
    ids=["non-numeric", "empty-block", "short-row", "inconsistent-count", "omega-scan", "unknown-unit",
         "missing-conditions", "missing-profile"],
)
def test_rasx_rejects_bad_content(tmp_path: Path, kwargs: dict, expected: str, line: int | None) -> None:
    path = _rasx(tmp_path, **kwargs)
    with pytest.raises(FormatError) as info:
        rigaku_rasx.read(path)
    assert expected in str(info.value)
    assert str(path) in str(info.value)
    assert info.value.reader == READER_ID
    if line is not None:
        assert info.value.line == line
        assert "member 'Data0/Profile0.txt'" in str(info.value)


def test_truncated_rasx(tmp_path: Path) -> None:
    good = _rasx(tmp_path, PROFILE * 1 + "".join(f"{11 + i * 0.01:.4f}\t{i}\t1\r\n" for i in range(3000)), count=3004)
    data = good.read_bytes()
    path = tmp_path / "cut.rasx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError) as info:
        detect_reader("xrd", path).read(path)
    assert "truncated or corrupt" in str(info.value)
    assert str(path) in str(info.value)


def test_rasx_wrong_magic(tmp_path: Path) -> None:
    path = tmp_path / "fake.rasx"
    path.write_text("10 20\n11 30\n")
    with pytest.raises(FormatError) as info:
        rigaku_rasx.read(path)
    assert "not a readable zip archive" in str(info.value)
    assert str(path) in str(info.value)
