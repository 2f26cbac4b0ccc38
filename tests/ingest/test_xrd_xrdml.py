"""PANalytical XRDML reader: MANIFEST conformance, schema variants, bad input."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from battkg.errors import FormatError
from battkg.ingest.xrd import panalytical_xrdml
from battkg.readers import detect_reader
from tests.conftest import SAMPLES, manifest_entries, requires_shared_samples, sample_path
from tests.ingest.test_xrd_oracle import assert_matches_oracle

READER_ID = "xrd.panalytical.xrdml"


@requires_shared_samples
@pytest.mark.parametrize("entry", manifest_entries("xrd", formats=("panalytical-xrdml",)))
def test_xrdml_matches_oracle(entry: dict) -> None:
    path = sample_path(entry)
    reader = detect_reader("xrd", path)
    assert reader.info.id == READER_ID
    parsed = reader.read(path)
    assert parsed.format_id == READER_ID
    assert len(parsed.blocks) == 1
    assert_matches_oracle(parsed, entry)
    start = parsed.metadata["start_time"]
    assert isinstance(start, datetime) and start.tzinfo is not None
    assert parsed.metadata["end_time"] > start
    assert parsed.blocks[0].metadata["scan_mode"] == "continuous"
    (counting,) = [q for q in parsed.blocks[0].quantities if q.quantity == "CountingTime"]
    assert counting.unit == "s" and counting.value > 0
    assert {q.label for q in parsed.quantities if q.quantity == "Wavelength"} == {"Kα1", "Kα2", "Kβ"}
    assert {"GeneratorVoltage", "GeneratorCurrent", "KAlphaRatio"} <= {q.quantity for q in parsed.quantities}
    assert parsed.raw_metadata["xml"]  # unmapped vendor keys are kept


@requires_shared_samples
def test_xrdml_metadata_of_the_counts_variant() -> None:
    """Schema 2.0 file with <counts> (xylib and yadg fail on it)."""
    path = SAMPLES / "xrd/datalab_HL1-2_5-90_60min.xrdml"
    parsed = panalytical_xrdml.read(path)
    assert parsed.metadata["operator"] == "Joshua Bocarsly"
    assert parsed.metadata["instrument"] == "EMPYREAN"
    assert parsed.metadata["goniometer"] == "Theta/Theta"
    assert parsed.metadata["radiation"] == "Cu Kα"
    voltage = next(q for q in parsed.quantities if q.quantity == "GeneratorVoltage")
    assert (voltage.value, voltage.unit) == (45.0, "kV")
    assert parsed.raw_metadata["schema_namespace"].endswith("/2.0")
    # No attenuation factors in this file: intensities are the counts verbatim.
    assert [a.name for a in parsed.blocks[0].arrays] == ["two_theta", "intensity"]


def _xrdml(scans: str, ns: str = "http://www.xrdml.com/XRDMeasurement/2.0") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<xrdMeasurements xmlns="{ns}" status="Completed">
  <sample type="To be analyzed"><id>S1</id><name>LFP cathode</name></sample>
  <xrdMeasurement measurementType="Scan" status="Completed">
    <usedWavelength intended="K-Alpha 1">
      <kAlpha1 unit="Angstrom">1.5405980</kAlpha1><kAlpha2 unit="Angstrom">1.5444260</kAlpha2>
      <ratioKAlpha2KAlpha1>0.5000</ratioKAlpha2KAlpha1>
    </usedWavelength>
    <incidentBeamPath><xRayTube><tension unit="kV">40</tension><current unit="mA">30</current>
      <anodeMaterial>Co</anodeMaterial></xRayTube></incidentBeamPath>
    {scans}
  </xrdMeasurement>
</xrdMeasurements>
"""


def _scan(points: str, number: int = 0, mode: str = "Continuous") -> str:
    return (f'<scan appendNumber="{number}" mode="{mode}" scanAxis="Gonio" status="Completed"><header>'
            f"<startTimeStamp>2024-01-0{number + 1}T10:00:00+01:00</startTimeStamp>"
            f"<endTimeStamp>2024-01-0{number + 1}T11:00:00+01:00</endTimeStamp>"
            f"<author><name>Ada</name></author></header>{points}</scan>")


def _points(*, positions: str = '<startPosition>10</startPosition><endPosition>11</endPosition>',
            data: str = '<intensities unit="counts">1 2 3 4 5</intensities>', extra: str = "") -> str:
    return (f'<dataPoints><positions axis="2Theta" unit="deg">{positions}</positions>'
            f'<positions axis="Omega" unit="deg"><commonPosition>5</commonPosition></positions>'
            f'<commonCountingTime unit="seconds">2.5</commonCountingTime>{extra}{data}</dataPoints>')


def _write(tmp_path: Path, text: str, name: str = "scan.xrdml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_xrdml_list_positions_several_scans_and_data_points(tmp_path: Path) -> None:
    listed = _points(positions="<listPositions>10 10.5 11.5 12</listPositions>",
                     data='<intensities unit="cps">7 8 9 10</intensities>')
    scans = _scan(_points() + _points(data='<intensities unit="counts">6 5 4 3 2</intensities>'), 0) + _scan(listed, 1,
                                                                                                             "Pre-set time")
    parsed = panalytical_xrdml.read(_write(tmp_path, _xrdml(scans, ns="http://www.xrdml.com/XRDMeasurement/1.5")))
    assert [b.name for b in parsed.blocks] == ["scan0_0", "scan0_1", "scan1"]
    np.testing.assert_allclose(parsed.blocks[0].array("two_theta").values, [10, 10.25, 10.5, 10.75, 11])
    np.testing.assert_allclose(parsed.blocks[1].array("intensity").values, [6, 5, 4, 3, 2])
    np.testing.assert_allclose(parsed.blocks[2].array("two_theta").values, [10, 10.5, 11.5, 12])
    assert parsed.blocks[2].array("intensity").unit == "count/s"
    assert parsed.blocks[2].metadata["scan_mode"] == "step"
    assert parsed.blocks[0].metadata["positions"]["Omega"] == {"common": 5.0, "unit": "deg"}
    assert parsed.metadata["start_time"] == datetime.fromisoformat("2024-01-01T10:00:00+01:00")
    assert parsed.metadata["end_time"] == datetime.fromisoformat("2024-01-02T11:00:00+01:00")
    assert parsed.metadata["sample_name"] == "LFP cathode"
    assert parsed.metadata["radiation"] == "Co Kα1"
    assert parsed.metadata["operator"] == "Ada"


def test_xrdml_counts_are_corrected_by_attenuation_factors(tmp_path: Path) -> None:
    points = _points(data='<counts unit="counts">10 20 30 40 50</counts>',
                     extra="<beamAttenuationFactors>1 1 100 1 1</beamAttenuationFactors>")
    block = panalytical_xrdml.read(_write(tmp_path, _xrdml(_scan(points)))).blocks[0]
    np.testing.assert_allclose(block.array("intensity").values, [10, 20, 3000, 40, 50])
    np.testing.assert_allclose(block.array("raw_counts").values, [10, 20, 30, 40, 50])


def test_renamed_xrdml_is_detected_by_content(tmp_path: Path) -> None:
    path = _write(tmp_path, _xrdml(_scan(_points())), name="x.dat")
    reader = detect_reader("xrd", path)
    assert reader.info.id == READER_ID
    assert reader.read(path).blocks[0].array("intensity").values.size == 5


@pytest.mark.parametrize(
    ("text", "expected", "field"),
    [
        (_xrdml(_scan(_points()))[:700], "not well-formed", None),
        ("<?xml version='1.0'?><xrdResults/>", "expected <xrdMeasurements>", None),
        (_xrdml(_scan(_points(data='<intensities unit="counts">1 2 x3 4 5</intensities>'))),
         "non-numeric value 'x3' at position 3", "xrdMeasurement[0]/scan[0]/dataPoints[0]/intensities"),
        (_xrdml(_scan(_points(data='<intensities unit="counts">  </intensities>'))), "empty data block",
         "xrdMeasurement[0]/scan[0]/dataPoints[0]/intensities"),
        (_xrdml(_scan(_points(positions="<listPositions>10 11 12</listPositions>"))),
         "inconsistent point counts: 3 listed positions but 5", None),
        (_xrdml(_scan(_points(extra="<beamAttenuationFactors>1 1</beamAttenuationFactors>",
                              data='<counts unit="counts">1 2 3 4 5</counts>'))),
         "inconsistent point counts: 2 attenuation factors", "xrdMeasurement[0]/scan[0]/dataPoints[0]/beamAttenuationFactors"),
        (_xrdml(_scan(_points(positions="<commonPosition>20</commonPosition>"))), "not a 2θ scan", None),
        (_xrdml(_scan(_points(data='<intensities unit="furlongs">1 2 3 4 5</intensities>'))),
         "unknown intensity unit", None),
        (_xrdml(_scan(_points(data=""))), "no <intensities> or <counts>", None),
        (_xrdml(""), "no <scan> element", "xrdMeasurement[0]"),
    ],
    ids=["truncated", "wrong-root", "non-numeric", "empty-block", "inconsistent-list", "inconsistent-attenuation",
         "rocking-curve", "unknown-unit", "no-data", "no-scan"],
)
def test_xrdml_rejects_bad_input(tmp_path: Path, text: str, expected: str, field: str | None) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(FormatError) as info:
        panalytical_xrdml.read(path)
    assert expected in str(info.value)
    assert str(path) in str(info.value)
    assert info.value.reader == READER_ID
    if field is not None:
        assert info.value.field is not None and info.value.field.startswith(field)


def test_truncated_xrdml_error_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, _xrdml(_scan(_points()))[:700])
    with pytest.raises(FormatError) as info:
        panalytical_xrdml.read(path)
    assert info.value.line is not None and info.value.line > 1


def test_empty_xrdml_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "")
    with pytest.raises(FormatError, match="file is empty"):
        panalytical_xrdml.read(path)


def test_xrdml_block_names_stay_unique(tmp_path: Path) -> None:
    parsed = panalytical_xrdml.read(_write(tmp_path, _xrdml(_scan(_points()) + _scan(_points()))))
    names = [b.name for b in parsed.blocks]
    assert len(names) == len(set(names)) == 2
