"""Bruker RAW reader (v1, v2, RAW1.01, RAW4.00): MANIFEST conformance, synthetic versions, bad input."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from battkg.errors import FormatError
from battkg.ingest.xrd import bruker_raw
from battkg.readers import detect_reader
from tests.conftest import SAMPLES, manifest_entries, requires_shared_samples, sample_path
from tests.ingest.test_xrd_oracle import assert_matches_oracle

READER_ID = "xrd.bruker.raw"
BT86 = SAMPLES / "xrd/xylib_BT86.raw"
CU3AU = SAMPLES / "xrd/xylib_Cu3Au-1.raw"
TIO2 = SAMPLES / "xrd/datalab_TiO2.raw"


@requires_shared_samples
@pytest.mark.parametrize("entry", manifest_entries("xrd", formats=("bruker-raw",)))
def test_raw_matches_oracle(entry: dict) -> None:
    path = sample_path(entry)
    reader = detect_reader("xrd", path)
    assert reader.info.id == READER_ID
    parsed = reader.read(path)
    assert len(parsed.blocks) == 1
    assert_matches_oracle(parsed, entry)
    oracle = entry["oracle"]
    block = parsed.blocks[0]
    if "metadata" in oracle:  # xylib on RAW1.01
        meta = oracle["metadata"]
        assert parsed.raw_metadata["version"] == "RAW1.01"
        assert parsed.metadata["sample_name"] == meta["SAMPLE_ID"]
        assert parsed.raw_metadata["file_header"]["MEASURE_DATE"] == meta["MEASURE_DATE"]
        assert parsed.raw_metadata["ranges"][0]["STEP_SIZE"] == pytest.approx(float(oracle["STEP_SIZE"]), rel=1e-6)
        (ka2,) = [q for q in parsed.quantities if q.label == "Kα2"]
        assert ka2.value == pytest.approx(float(meta["ALPHA2"]))
        assert parsed.start_time() is not None and parsed.start_time().tzinfo is None
        assert any("no time zone" in w for w in parsed.warnings)
    else:  # GSAS-II on RAW4.00
        assert parsed.raw_metadata["version"] == "RAW4.00"
        quantities = {q.quantity: q for q in block.quantities}
        assert quantities["GeneratorVoltage"].value == pytest.approx(oracle["generatorVoltage(kV)"])
        assert quantities["GeneratorCurrent"].value == pytest.approx(oracle["generatorCurrent(mA)"])
        assert parsed.raw_metadata["ranges"][0]["STEP_SIZE"] == pytest.approx(float(oracle["stepSize"]), abs=1e-4)


@requires_shared_samples
def test_raw4_metadata() -> None:
    parsed = bruker_raw.read(TIO2)
    assert parsed.metadata["sample_name"] == "TiO2"
    assert parsed.metadata["instrument"] == "Bruker AXS Mini Diffractometer"  # from the gzipped OPTICS_V5 XML
    assert parsed.raw_metadata["varinfo"]["CREATOR"] == "V5Converter"
    assert parsed.raw_metadata["varinfo"]["OPTICS_V5"].startswith("<?xml")
    # The v4 time per step has no established unit: kept raw, not a CountingTime.
    assert "CountingTime" not in {q.quantity for q in parsed.blocks[0].quantities}
    assert parsed.raw_metadata["ranges"][0]["TIME_PER_STEP"] > 0


@requires_shared_samples
def test_raw1_01_counting_time_and_multi_range(tmp_path: Path) -> None:
    data = CU3AU.read_bytes()
    header, rng = data[:712], data[712:]
    two = bytearray(header) + rng + rng
    struct.pack_into("<I", two, 12, 2)  # RANGE_COUNT
    path = tmp_path / "two.raw"
    path.write_bytes(bytes(two))
    parsed = bruker_raw.read(path)
    assert [b.name for b in parsed.blocks] == ["range0", "range1"]
    np.testing.assert_array_equal(parsed.blocks[0].array("intensity").values,
                                  parsed.blocks[1].array("intensity").values)
    (counting,) = [q for q in parsed.blocks[1].quantities if q.quantity == "CountingTime"]
    assert (counting.value, counting.unit) == (0.5, "s")


def _raw_v1(ranges: list[tuple[float, float, list[float]]], repeat_magic: bool = True) -> bytes:
    """Version 1 ("RAW "): offsets from xylib load_version1, written out independently of the reader."""
    out = bytearray(b"RAW ")
    for index, (start, step, values) in enumerate(ranges):
        if index and repeat_magic:
            out += b"RAW "
        header = bytearray(152)
        struct.pack_into("<I", header, 0, len(values))
        struct.pack_into("<f", header, 4, 1.5)       # time per step
        struct.pack_into("<f", header, 8, step)
        struct.pack_into("<f", header, 20, start)
        header[36:36 + 6] = b"sample"
        struct.pack_into("<f", header, 68, 1.5406)
        struct.pack_into("<f", header, 72, 1.5444)
        struct.pack_into("<I", header, 148, 1 if index < len(ranges) - 1 else 0)
        out += header + struct.pack(f"<{len(values)}f", *values)
    return bytes(out)


def _raw_v2(start: float, step: float, values: list[float]) -> bytes:
    """Version 2 ("RAW2"): offsets from xylib load_version2 / GSAS-II ver. 2."""
    head = bytearray(256)
    head[0:4] = b"RAW2"
    struct.pack_into("<H", head, 4, 1)
    head[168:168 + 17] = b"01/02/03 04:05:06"
    head[188:190] = b"Co"
    struct.pack_into("<fff", head, 190, 1.78897, 1.79285, 0.5)
    struct.pack_into("<f", head, 206, 1.62079)
    rng = bytearray(64)
    struct.pack_into("<HH", rng, 0, 64, len(values))
    struct.pack_into("<fff", rng, 8, 2.0, step, start)
    return bytes(head + rng) + struct.pack(f"<{len(values)}f", *values)


def test_raw_v1_synthetic(tmp_path: Path) -> None:
    path = tmp_path / "v1.raw"
    path.write_bytes(_raw_v1([(10.0, 0.5, [1, 2, 3]), (20.0, 0.25, [4, 5])]))
    parsed = detect_reader("xrd", path).read(path)
    assert [b.name for b in parsed.blocks] == ["range0", "range1"]
    np.testing.assert_allclose(parsed.blocks[1].array("two_theta").values, [20.0, 20.25])
    np.testing.assert_allclose(parsed.blocks[1].array("intensity").values, [4, 5])
    assert parsed.metadata["sample_name"] == "sample"
    assert next(q for q in parsed.quantities if q.label == "Kα1").value == pytest.approx(1.5406)


def test_raw_v1_without_repeated_magic(tmp_path: Path) -> None:
    path = tmp_path / "v1.raw"
    path.write_bytes(_raw_v1([(10.0, 0.5, [1, 2, 3]), (20.0, 0.25, [4, 5])], repeat_magic=False))
    assert [b.array("intensity").values.size for b in bruker_raw.read(path).blocks] == [3, 2]


def test_raw_v2_synthetic(tmp_path: Path) -> None:
    path = tmp_path / "v2.raw"
    path.write_bytes(_raw_v2(5.0, 0.02, [7, 8, 9, 10]))
    parsed = bruker_raw.read(path)
    np.testing.assert_allclose(parsed.blocks[0].array("two_theta").values, [5.0, 5.02, 5.04, 5.06], rtol=1e-6)
    assert parsed.metadata["anode"] == "Co"
    assert {q.label: round(q.value, 5) for q in parsed.quantities if q.quantity == "Wavelength"} == {
        "Kα1": 1.78897, "Kα2": 1.79285, "Kβ": 1.62079}


def test_renamed_raw_is_detected_by_magic(tmp_path: Path) -> None:
    path = tmp_path / "x.dat"
    path.write_bytes(_raw_v2(5.0, 0.02, [7, 8, 9, 10]))
    assert detect_reader("xrd", path).info.id == READER_ID


def _patched(source: Path, tmp_path: Path, patches: list[tuple[int, str, object]], cut: int | None = None) -> Path:
    data = bytearray(source.read_bytes())
    for offset, code, value in patches:
        struct.pack_into(code, data, offset, value)
    path = tmp_path / f"bad_{source.name}"
    path.write_bytes(bytes(data[:cut] if cut is not None else data))
    return path


@requires_shared_samples
@pytest.mark.parametrize(
    ("source", "patches", "cut", "expected", "field"),
    [
        (BT86, [], 5000, "truncated RAW1.01 file", "range0/data"),
        (BT86, [], 630, "truncated RAW1.01 file", "file header/ALPHA1"),
        (BT86, [(712 + 4, "<I", 0)], None, "empty data block", "range0"),
        (BT86, [(712 + 4, "<I", 3000)], None, "truncated RAW1.01 file", "range0/data"),  # more steps than data
        (BT86, [(712 + 252, "<I", 12)], None, "data records of 12 bytes", "range0/DATA_RECORD_LENGTH"),
        (BT86, [(712, "<I", 300)], None, "range header length 300", "range0/HEADER_LENGTH"),
        (BT86, [(1056, "<f", float("nan"))], None, "non-finite intensity value at point 1", "range0"),
        (BT86, [(12, "<I", 0)], None, "declares 0 ranges", "file header/RANGE_COUNT"),
        (TIO2, [(510 + 136, "<I", 8)], None, "datum size 8 bytes", "range0/DATUM_SIZE"),
        (TIO2, [(65, "<I", 4)], None, "segment length 4 < 8", "segment type 10 at byte 61"),
        (TIO2, [], 9000, "truncated RAW4.00 file", "range0/data"),
        (TIO2, [], 510, "no 2θ range found", None),
    ],
    ids=["truncated-data", "truncated-header", "empty-block", "inconsistent-steps", "record-length",
         "header-length", "nan-value", "no-ranges", "v4-datum-size", "v4-bad-segment", "v4-truncated",
         "v4-no-range"],
)
def test_raw_rejects_bad_input(tmp_path: Path, source: Path, patches: list, cut: int | None, expected: str,
                               field: str | None) -> None:
    path = _patched(source, tmp_path, patches, cut)
    with pytest.raises(FormatError) as info:
        detect_reader("xrd", path).read(path)
    assert expected in str(info.value)
    assert str(path) in str(info.value)
    assert info.value.reader == READER_ID
    if field is not None:
        assert info.value.field == field


@pytest.mark.parametrize("head", [b"RAX4.00\x00" + b"\x00" * 100, b"\x00" * 64, b"RAW"],
                         ids=["near-magic", "zeros", "too-short"])
def test_raw_rejects_wrong_magic(tmp_path: Path, head: bytes) -> None:
    path = tmp_path / "bad.raw"
    path.write_bytes(head)
    with pytest.raises(FormatError) as info:
        bruker_raw.read(path)
    assert "wrong magic bytes" in str(info.value)
    assert str(path) in str(info.value)


@requires_shared_samples
def test_raw4_unknown_segment_is_kept_and_padding_ignored(tmp_path: Path) -> None:
    data = TIO2.read_bytes()
    unknown = struct.pack("<II", 99, 16) + b"\x01\x02\x03\x04\x05\x06\x07\x08"
    path = tmp_path / "extra.raw"
    path.write_bytes(data[:510] + unknown + data[510:] + b"\x00" * 64)  # 510: the range marker
    parsed = bruker_raw.read(path)
    assert parsed.blocks[0].array("intensity").values.size == 1647
    (kept,) = parsed.raw_metadata["unknown_segments"]
    assert (kept["type"], kept["hex"][-16:]) == (99, "0102030405060708")
    assert any("unknown RAW4.00 segment type 99" in w for w in parsed.warnings)
    assert any("64 zero byte(s)" in w for w in parsed.warnings)
