"""Bruker BRML reader: MANIFEST conformance, synthetic archives, bad input."""

from __future__ import annotations

import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from battkg.errors import FormatError
from battkg.ingest.xrd import bruker_brml
from battkg.readers import detect_reader
from tests.conftest import manifest_entries, requires_shared_samples, sample_path
from tests.ingest.test_xrd_oracle import assert_matches_oracle

READER_ID = "xrd.bruker.brml"
XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'


@requires_shared_samples
@pytest.mark.parametrize("entry", manifest_entries("xrd", formats=("bruker-brml",)))
def test_brml_matches_oracle(entry: dict) -> None:
    path = sample_path(entry)
    reader = detect_reader("xrd", path)
    assert reader.info.id == READER_ID
    parsed = reader.read(path)
    assert len(parsed.blocks) == 1
    assert_matches_oracle(parsed, entry)
    block = parsed.blocks[0]
    # The datalab cross-check took the wrong column (2.63482...); battkg must not.
    wrong = [c for c in entry.get("cross_checks", []) if "datalab" in c["reader"]]
    for check in wrong:
        assert block.array("intensity").values[0] != pytest.approx(check["y_first"])
    assert block.metadata["scan_mode"] == "continuous"
    assert isinstance(parsed.metadata["start_time"], datetime) and parsed.metadata["start_time"].tzinfo
    assert {q.quantity for q in parsed.quantities} >= {"Wavelength", "GeneratorVoltage", "GeneratorCurrent"}
    assert parsed.raw_metadata["absorption_factor"]  # the rotary absorber was active on some points


def _raw_data(rows: list[str], *, points: int | None = None, views: str | None = None, scan: str = "TwoThetaScan",
              tube: bool = True) -> str:
    views = views if views is not None else """
        <RawDataView xsi:type="FixedRawDataView" Start="0" Length="1" LogicName="MeasuredTime" Unit="s" />
        <RawDataView xsi:type="FixedRawDataView" Start="1" Length="1" LogicName="AbsorptionFactor" Unit="" />
        <RawDataView xsi:type="VaryingRawDataView" Start="2" Length="2"><Varying>
          <FieldDefinitions FieldName="TwoTheta" AxisId="TwoTheta" /><FieldDefinitions FieldName="Theta" AxisId="Theta" />
        </Varying></RawDataView>
        <RawDataView xsi:type="RecordedRawDataView" Start="4" Length="1"><Recording LogicName="Counter">
          <Unit Prefix="None" Base="Counts" /></Recording></RawDataView>"""
    datum = "".join(f"<Datum>{r}</Datum>" for r in rows)
    tube_xml = """<FixedInformation><Instrument><PrimaryTracks><TrackInfoData><MountedOptics><InfoData>
        <Tube><WaveLengthAlpha1 Unit="Å" Value="1.78897" /><WaveLengthAlpha2 Unit="Å" Value="1.79285" />
        <WaveLengthRatio Unit="" Value="0.5" /><TubeMaterial>Co</TubeMaterial>
        <Generator><Voltage Unit="kV" Value="35" /><Current Unit="mA" Value="40" /></Generator></Tube>
        </InfoData></MountedOptics></TrackInfoData></PrimaryTracks><GoniometerType>Theta_Theta</GoniometerType>
        </Instrument></FixedInformation>""" if tube else ""
    return f"""<?xml version="1.0"?>
<RawData {XSI}>
  <TimeStampStarted>2023-01-26T15:23:09.837152+01:00</TimeStampStarted>
  <TimeStampFinished>2023-01-26T15:57:00.2452847+01:00</TimeStampFinished>
  <DataRoutes><DataRoute RouteFlag="Measured">
    <ScanInformation ScanName="{scan}"><MeasurementPoints>{points if points is not None else len(rows)}</MeasurementPoints>
      <TimePerStep>1</TimePerStep><ScanMode>StepScan</ScanMode>
      <ScanAxes><ScanAxisInfo AxisId="TwoTheta" AxisName="TwoTheta"><Reference>0</Reference><Start>10</Start>
        <Stop>10.2</Stop><Increment>0.1</Increment></ScanAxisInfo></ScanAxes></ScanInformation>
    {datum}
    <DataViews>{views}</DataViews>
  </DataRoute></DataRoutes>
  {tube_xml}
</RawData>"""


ROWS = ["2,1,10,5,100", "2,1,10.1,5.05,110", "2,10,10.2,5.1,1200"]
CONTAINER = """<?xml version="1.0"?><DataContainer><RawDataReferenceList><string>Experiment0/RawData0.xml</string>
</RawDataReferenceList><ExperimentInfo><InstrumentDescription><InstrumentName>D8 ADVANCE</InstrumentName>
</InstrumentDescription></ExperimentInfo><MeasurementInfo UserName="Ada" SampleName="NMC811" Comment="" />
</DataContainer>"""


def _brml(tmp_path: Path, raw: str | None, name: str = "scan.brml", container: str | None = CONTAINER) -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("experimentCollection.xml", "<ExperimentCollection />")
        if container is not None:
            archive.writestr("Experiment0/DataContainer.xml", container)
        if raw is not None:
            archive.writestr("Experiment0/RawData0.xml", raw)
    return path


def test_brml_synthetic(tmp_path: Path) -> None:
    parsed = bruker_brml.read(_brml(tmp_path, _raw_data(ROWS)))
    block = parsed.blocks[0]
    np.testing.assert_allclose(block.array("two_theta").values, [10, 10.1, 10.2])
    np.testing.assert_allclose(block.array("intensity").values, [100, 110, 1200])
    assert block.metadata["scan_mode"] == "step"
    assert block.metadata["scan_axis"] == "TwoThetaScan"
    assert next(q for q in block.quantities if q.quantity == "CountingTime").value == 2.0
    assert parsed.raw_metadata["absorption_factor"]["Experiment0/RawData0.xml/DataRoute[0]"] == [1, 1, 10]
    assert parsed.metadata["instrument"] == "D8 ADVANCE"
    assert parsed.metadata["operator"] == "Ada"
    assert parsed.metadata["sample_name"] == "NMC811"
    assert parsed.metadata["radiation"] == "Co Kα"
    assert next(q for q in parsed.quantities if q.label == "Kα1").value == pytest.approx(1.78897)


def test_brml_varying_counting_time_becomes_an_array(tmp_path: Path) -> None:
    rows = ["1,1,10,5,100", "2,1,10.1,5.05,110", "3,1,10.2,5.1,120"]
    block = bruker_brml.read(_brml(tmp_path, _raw_data(rows))).blocks[0]
    np.testing.assert_allclose(block.array("counting_time").values, [1, 2, 3])
    assert block.array("counting_time").unit == "s"


def test_brml_without_two_theta_column_uses_scan_axis(tmp_path: Path) -> None:
    views = """<RawDataView xsi:type="RecordedRawDataView" Start="0" Length="1"><Recording LogicName="C">
        <Unit Base="Counts" /></Recording></RawDataView>"""
    parsed = bruker_brml.read(_brml(tmp_path, _raw_data(["5", "6", "7"], views=views)))
    np.testing.assert_allclose(parsed.blocks[0].array("two_theta").values, [10, 10.1, 10.2])
    assert any("no measured 2θ column" in w for w in parsed.warnings)


def test_renamed_brml_is_detected_by_content(tmp_path: Path) -> None:
    path = _brml(tmp_path, _raw_data(ROWS), name="x.dat")
    reader = detect_reader("xrd", path)
    assert reader.info.id == READER_ID
    assert reader.read(path).blocks[0].array("intensity").values.size == 3


@pytest.mark.parametrize(
    ("raw", "expected", "field"),
    [
        (_raw_data(["2,1,10,5,100", "2,1,abc,5.05,110"]), "non-numeric value 'abc'",
         "Experiment0/RawData0.xml/DataRoute[0]/Datum[1]"),
        (_raw_data([]), "empty data block", "Experiment0/RawData0.xml/DataRoute[0]"),
        (_raw_data(["2,1,10,5,100", "2,1,10.1,5.05"]), "row has 4 column(s), expected 5",
         "Experiment0/RawData0.xml/DataRoute[0]/Datum[1]"),
        (_raw_data(ROWS, points=5), "inconsistent point counts: the header declares 5 measured points but there "
         "are 3", "Experiment0/RawData0.xml/DataRoute[0]"),
        (_raw_data(ROWS, views=""), "no <DataViews>", "Experiment0/RawData0.xml/DataRoute[0]"),
        (_raw_data(["1,2", "1,2", "1,2"]), "points at column", "Experiment0/RawData0.xml/DataRoute[0]/DataViews"),
        (_raw_data(ROWS)[:600], "not well-formed", None),
        (None, "zip member 'Experiment0/RawData0.xml' is missing", None),
    ],
    ids=["non-numeric", "empty-block", "short-row", "inconsistent-points", "no-views", "view-out-of-range",
         "truncated-xml", "missing-member"],
)
def test_brml_rejects_bad_content(tmp_path: Path, raw: str | None, expected: str, field: str | None) -> None:
    path = _brml(tmp_path, raw)
    with pytest.raises(FormatError) as info:
        bruker_brml.read(path)
    assert expected in str(info.value)
    assert str(path) in str(info.value)
    assert info.value.reader == READER_ID
    if field is not None:
        assert info.value.field == field


def test_brml_without_raw_data_member(tmp_path: Path) -> None:
    path = _brml(tmp_path, None, container=None)
    with pytest.raises(FormatError, match="no RawData"):
        bruker_brml.read(path)


@pytest.mark.parametrize("cut", [0.5, 0.95], ids=["half", "central-directory"])
def test_truncated_brml(tmp_path: Path, cut: float) -> None:
    good = _brml(tmp_path, _raw_data(ROWS * 200, points=600))
    data = good.read_bytes()
    path = tmp_path / "cut.brml"
    path.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(FormatError) as info:
        detect_reader("xrd", path).read(path)
    assert "truncated or corrupt" in str(info.value)
    assert str(path) in str(info.value)


def test_brml_wrong_magic(tmp_path: Path) -> None:
    path = tmp_path / "fake.brml"
    path.write_bytes(b"\x00\x01 not a zip at all" * 10)
    with pytest.raises(FormatError) as info:
        detect_reader("xrd", path).read(path)
    assert "not a readable zip archive" in str(info.value)
    assert str(path) in str(info.value)
