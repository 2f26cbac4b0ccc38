"""FTIR readers: MANIFEST oracle conformance, ordinate handling and bad-input errors."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from battkg.errors import FormatError
from battkg.readers import detect_reader
from tests.conftest import SAMPLES, manifest_entries, requires_shared_samples, sample_path

EXPECTED_READER = {"jcamp-style": "ftir.jcamp", "jcamp-dx": "ftir.jcamp", "thermo-galactic-spc": "ftir.galactic.spc",
                   "thermo-omnic-spa": "ftir.thermo.spa", "bruker-opus": "ftir.bruker.opus"}


def _oracle(entry: dict) -> dict:
    oracle = entry["oracle"]
    if "rows" in oracle:
        return {"n_points": oracle["rows"], "x_first": oracle["first"][0], "x_last": oracle["last"][0],
                "y_first": oracle["first"][1], "y_last": oracle["last"][1]}
    return {k: oracle[k] for k in ("n_points", "x_first", "x_last", "y_first", "y_last")}


def _oracle_ordinate(entry: dict) -> str | None:
    """The ordinate the oracle (or a cross-check) reports, in battkg's words; None when none says."""
    oracle = entry["oracle"]
    stated = [oracle.get("ytype"), oracle.get("yunits"), oracle.get("block_label"), oracle.get("y_title")]
    stated += [c.get("yunits", "").split("\n")[0] for c in entry.get("cross_checks", [])]
    text = " ".join(s for s in stated if s).upper()
    for word, ordinate in (("ABS", "absorbance"), ("TRANS", "transmittance"), ("%T", "transmittance"),
                           ("REFL", "reflectance")):
        if word in text:
            return ordinate
    return None


def _close(value: float) -> object:
    return pytest.approx(value, rel=1e-5, abs=1e-3)


@requires_shared_samples
@pytest.mark.parametrize("entry", manifest_entries("ftir"))
def test_ftir_reader_matches_oracle(entry: dict) -> None:
    path = sample_path(entry)
    reader = detect_reader("ftir", path)
    assert reader.info.id == next(v for k, v in EXPECTED_READER.items() if entry["format"].startswith(k))
    parsed = reader.read(path)
    oracle = _oracle(entry)
    block = parsed.blocks[0]
    wavenumber, ordinate = block.arrays[0], block.arrays[1]
    assert (wavenumber.name, wavenumber.quantity, wavenumber.unit) == ("wavenumber", "Wavenumber", "1/cm")
    assert wavenumber.values.size == ordinate.values.size == oracle["n_points"]
    assert wavenumber.values[0] == _close(oracle["x_first"])
    assert wavenumber.values[-1] == _close(oracle["x_last"])
    assert ordinate.values[0] == _close(oracle["y_first"])
    assert ordinate.values[-1] == _close(oracle["y_last"])
    expected = _oracle_ordinate(entry)
    assert expected is not None, "every FTIR sample states its ordinate"
    assert parsed.metadata["ordinate"] == expected
    assert parsed.metadata["ordinate_source"]
    assert ordinate.quantity == expected.capitalize()
    assert ordinate.unit in (("dimensionless",) if expected == "absorbance" else ("percent", "dimensionless"))
    if ordinate.unit == "percent":
        assert ordinate.values.max() > 1.5
    if "n_subfiles" in entry["oracle"]:
        assert parsed.metadata["n_spectra"] == entry["oracle"]["n_subfiles"] == len(parsed.blocks)
    if "date" in entry["oracle"]:
        assert parsed.metadata["start_time"].isoformat(sep=" ") == entry["oracle"]["date"]
    if "data_blocks" in entry["oracle"]:
        assert list(parsed.metadata["opus_blocks"]) == entry["oracle"]["data_blocks"]


@requires_shared_samples
def test_jcamp_header_over_table_is_flagged() -> None:
    path = SAMPLES / "ftir/datalab_FTIRText020.jdx.txt"
    parsed = detect_reader("ftir", path).read(path)
    assert parsed.metadata["valid_jcamp"] is False
    assert any("not valid JCAMP-DX" in w for w in parsed.warnings)
    assert parsed.blocks[0].arrays[1].unit == "percent"  # ##YUNITS=%T


ASDF = """##TITLE=synthetic
##JCAMP-DX=4.24
##DATA TYPE=INFRARED SPECTRUM
##XUNITS={xunits}
##YUNITS=ABSORBANCE
##XFACTOR=1.0
##YFACTOR=0.001
##FIRSTX={firstx}
##LASTX={lastx}
##NPOINTS=6
##FIRSTY=0.1
##XYDATA=(X++(Y..Y))
{line1}
{line2}
##END=
"""


def _jcamp(tmp_path: Path, name: str = "s.jdx", **fields: str) -> Path:
    values = {"xunits": "1/CM", "firstx": "10", "lastx": "15", "line1": "10A00JK%T", "line2": "14A03l"} | fields
    path = tmp_path / name
    path.write_text(ASDF.format(**values))
    return path


def test_jcamp_decodes_sqz_dif_dup_with_y_check(tmp_path: Path) -> None:
    path = _jcamp(tmp_path)
    parsed = detect_reader("ftir", path).read(path)
    block = parsed.blocks[0]
    np.testing.assert_allclose(block.array("wavenumber").values, [10, 11, 12, 13, 14, 15])
    np.testing.assert_allclose(block.array("absorbance").values, [0.100, 0.101, 0.103, 0.103, 0.103, 0.100])
    assert parsed.metadata["ordinate"] == "absorbance"


def test_jcamp_micrometres_are_converted(tmp_path: Path) -> None:
    path = _jcamp(tmp_path, xunits="MICROMETERS", firstx="2.5", lastx="25", line1="2.5A00JK%T", line2="20A03l")
    parsed = detect_reader("ftir", path).read(path)
    wavenumber = parsed.blocks[0].array("wavenumber").values
    assert wavenumber[0] == pytest.approx(4000.0) and wavenumber[-1] == pytest.approx(400.0)
    assert parsed.metadata["abscissa_converted_from"] == "micrometer"
    assert any("converted from micrometer" in w for w in parsed.warnings)


def _replace_line(text: str, number: int, new: str | None) -> str:
    lines = text.splitlines(keepends=True)
    lines[number - 1] = "" if new is None else new + "\n"
    return "".join(lines)


@requires_shared_samples
@pytest.mark.parametrize(
    ("mutate", "expected", "field", "line"),
    [
        (lambda t: _replace_line(t, 30, None), "does not match the FIRSTX/LASTX/NPOINTS grid", "XYDATA", 30),
        (lambda t: _replace_line(t, 29, "3989 +10153+1015x"), "unexpected characters 'x'", "XYDATA", 29),
        (lambda t: t.replace("##YFACTOR=0.0001", "##YFACTOR=0.001"), "##FIRSTY=1.016", "FIRSTY", None),
        (lambda t: t.replace("##NPOINTS=3301", "##NPOINTS=3302"), "points are missing or extra", "XYDATA", None),
        (lambda t: t[: t.index("3868 ")] + "##END=\n", "##NPOINTS=3301 but the data table holds", "NPOINTS", None),
        (lambda t: t.replace("##XUNITS= 1/CM\n", ""), "##XUNITS= is missing", "XUNITS", None),
        (lambda t: t.replace("##FIRSTX=4000.00\n", ""), "required record ##FIRSTX= is missing", "FIRSTX", None),
    ],
    ids=["missing-line", "non-numeric", "firsty", "npoints-grid", "truncated", "no-xunits", "no-firstx"],
)
def test_jcamp_rejects_bad_input(tmp_path: Path, mutate, expected: str, field: str, line: int | None) -> None:
    text = (SAMPLES / "ftir/jcamp_PE1800.DX").read_text(encoding="latin-1")
    path = tmp_path / "bad.dx"
    path.write_text(mutate(text), encoding="latin-1")
    with pytest.raises(FormatError) as info:
        detect_reader("ftir", path).read(path)
    assert expected in str(info.value)
    assert str(path) in str(info.value)
    assert info.value.field == field
    if line is not None:
        assert info.value.line == line


@pytest.mark.parametrize(
    ("fields", "expected", "line"),
    [
        ({"line2": "14A04l"}, "DIF Y-check failed", 14),
        ({"line2": ""}, "##NPOINTS=6 but the data table holds 5", None),
        ({"line1": "10A00JK%T?"}, "unexpected character '?'", 13),
    ],
    ids=["y-check", "empty-second-line", "bad-asdf-char"],
)
def test_jcamp_asdf_rejects_corruption(tmp_path: Path, fields: dict, expected: str, line: int | None) -> None:
    path = _jcamp(tmp_path, **fields)
    with pytest.raises(FormatError) as info:
        detect_reader("ftir", path).read(path)
    assert expected in str(info.value)
    if line is not None:
        assert info.value.line == line


# --- SPC ---------------------------------------------------------------------------------------------------


def _spc_bytes(ys: list[list[float]], *, fytype: int = 2, fxtype: int = 1, first: float = 400.0,
               last: float = 4000.0) -> bytes:
    """A new-format SPC with float32 y (fexp = -128), one subfile per list in ``ys``."""
    multi = len(ys) > 1
    header = struct.pack("<BBBbiddiBBBBI9s9sH32s130s30siI", 0x04 if multi else 0, 0x4B, 4, -128, len(ys[0]),
                         first, last, len(ys), fxtype, fytype, 0, 0, 0, b"4 cm-1", b"test", 0, b"\0" * 32,
                         b"synthetic", b"", 0, 0)
    out = header.ljust(512, b"\0")
    for index, y in enumerate(ys):
        out += struct.pack("<BbHffIIIf4s", 0, -128, index, 0.0, 0.0, 0, 0, 1, 0.0, b"")
        out += np.asarray(y, dtype="<f4").tobytes()
    return out


def test_spc_multi_subfile_gives_one_block_each(tmp_path: Path) -> None:
    path = tmp_path / "multi.spc"
    path.write_bytes(_spc_bytes([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]))
    parsed = detect_reader("ftir", path).read(path)
    assert parsed.metadata["n_spectra"] == 2 == len(parsed.blocks)
    np.testing.assert_allclose(parsed.blocks[1].array("absorbance").values, [0.4, 0.5, 0.6], rtol=1e-6)
    np.testing.assert_allclose(parsed.blocks[0].array("wavenumber").values, [400, 2200, 4000])


def test_spc_unknown_ordinate_is_not_guessed(tmp_path: Path) -> None:
    path = tmp_path / "counts.spc"
    path.write_bytes(_spc_bytes([[10.0, 20.0, 30.0]], fytype=4))
    parsed = detect_reader("ftir", path).read(path)
    assert parsed.metadata["ordinate"] is None
    assert parsed.blocks[0].arrays[1].quantity == "SpectralIntensity"
    assert any("ordinate is unknown" in w for w in parsed.warnings)


def test_spc_nanometre_axis_is_converted(tmp_path: Path) -> None:
    path = tmp_path / "nm.spc"
    path.write_bytes(_spc_bytes([[1.0, 2.0]], fxtype=3, first=2500.0, last=10000.0))
    parsed = detect_reader("ftir", path).read(path)
    np.testing.assert_allclose(parsed.blocks[0].array("wavenumber").values, [4000.0, 1000.0])
    assert parsed.metadata["abscissa_converted_from"] == "nanometer"


@requires_shared_samples
@pytest.mark.parametrize(
    ("mutate", "expected", "field"),
    [
        (lambda b: b[: len(b) // 2], "file truncated", "fnpts"),
        (lambda b: b[:300], "file truncated: 300 bytes", None),
        (lambda b: b[:1] + b"\x99" + b[2:], "not an SPC file: version byte is 0x99", "fversn"),
        (lambda b: b[:1] + b"\x4d" + b[2:], "old-format (0x4D) SPC is not supported", "fversn"),
        (lambda b: b[:4] + struct.pack("<i", 0) + b[8:], "empty spectrum: fnpts=0", "fnpts"),
        (lambda b: b[:4] + struct.pack("<i", 9000) + b[8:], "file truncated", "fnpts"),
        (lambda b: b[:28] + b"\x63" + b[29:], "unknown x type code 99", "fxtype"),
    ],
    ids=["truncated", "header-only", "wrong-magic", "old-format", "empty", "inconsistent-npts", "bad-xtype"],
)
def test_spc_rejects_bad_input(tmp_path: Path, mutate, expected: str, field: str | None) -> None:
    path = tmp_path / "bad.spc"
    path.write_bytes(mutate((SAMPLES / "ftir/galactic_HCL.SPC").read_bytes()))
    with pytest.raises(FormatError) as info:
        detect_reader("ftir", path, "ftir.galactic.spc").read(path)
    assert expected in str(info.value)
    assert str(path) in str(info.value)
    assert info.value.field == field


# --- SPA and OPUS ------------------------------------------------------------------------------------------


def _spa_header_pos(data: bytes) -> int:
    return struct.unpack_from("<I", data, 304 + 2)[0]


@requires_shared_samples
@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda b: b[: len(b) // 2], "file truncated: intensities end"),
        (lambda b: b[:300], "file truncated: directory at offset 304"),
        (lambda b: b"Spectral Dota File" + b[18:], "not an OMNIC SPA file"),
        (lambda b: b[: _spa_header_pos(b) + 4] + struct.pack("<I", 5000) + b[_spa_header_pos(b) + 8:],
         "inconsistent point counts: header gives 5000 points"),
        (lambda b: b[: _spa_header_pos(b) + 4] + struct.pack("<I", 1) + b[_spa_header_pos(b) + 8:],
         "empty spectrum"),
        (lambda b: b[:304] + b"\x00" + b[305:], "directory has no spectral header entry"),
    ],
    ids=["truncated", "truncated-header", "wrong-magic", "inconsistent-npts", "empty", "no-directory"],
)
def test_spa_rejects_bad_input(tmp_path: Path, mutate, expected: str) -> None:
    path = tmp_path / "bad.spa"
    path.write_bytes(mutate((SAMPLES / "ftir/omnic_7_CZ0-100_Pd_101.SPA").read_bytes()))
    with pytest.raises(FormatError) as info:
        detect_reader("ftir", path, "ftir.thermo.spa").read(path)
    assert expected in str(info.value)
    assert str(path) in str(info.value)


@requires_shared_samples
@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda b: b[: len(b) // 2], "file truncated: directory entry"),
        (lambda b: b[:10], "file truncated: 10 bytes"),
        (lambda b: b"\x00\x00\x00\x00" + b[4:], "not an OPUS file"),
        (lambda b: b[:20] + struct.pack("<i", 100000) + b[24:], "does not fit in the file"),
    ],
    ids=["truncated", "header-only", "wrong-magic", "bad-directory"],
)
def test_opus_rejects_bad_input(tmp_path: Path, mutate, expected: str) -> None:
    path = tmp_path / "bad.0"
    path.write_bytes(mutate((SAMPLES / "ftir/opus_test.0000").read_bytes()))
    with pytest.raises(FormatError) as info:
        detect_reader("ftir", path, "ftir.bruker.opus").read(path)
    assert expected in str(info.value)
    assert str(path) in str(info.value)


@requires_shared_samples
def test_opus_other_block_on_request() -> None:
    path = SAMPLES / "ftir/opus_test.0000"
    parsed = detect_reader("ftir", path).read(path, block="sm")
    assert parsed.metadata["ordinate"] is None
    assert parsed.blocks[0].arrays[1].quantity == "SpectralIntensity"
    with pytest.raises(FormatError, match="data block 'zz' not in file"):
        detect_reader("ftir", path).read(path, block="zz")


# --- text --------------------------------------------------------------------------------------------------

ROWS = "".join(f"{4000 - 10 * i}\t{0.5 + 0.01 * i}\n" for i in range(10))


@pytest.mark.parametrize(
    ("header", "ordinate", "unit"),
    [("", None, "dimensionless"), ("wavenumber\t%T\n", "transmittance", "percent"),
     ("# Y units: Absorbance\n", "absorbance", "dimensionless")],
    ids=["unstated", "column-name", "header-key"],
)
def test_text_ordinate_only_from_what_the_file_says(tmp_path: Path, header: str, ordinate: str | None,
                                                    unit: str) -> None:
    path = tmp_path / "s.csv"
    path.write_text(header + ROWS)
    parsed = detect_reader("ftir", path).read(path)
    assert parsed.format_id == "ftir.text"
    assert parsed.metadata["ordinate"] == ordinate
    assert parsed.blocks[0].arrays[1].unit == unit
    assert (ordinate is None) == any("ordinate is unknown" in w for w in parsed.warnings)


@pytest.mark.parametrize(
    ("content", "expected", "line"),
    [("", "file is empty", None), ("# h\n" + ROWS + "3000\tn/a\n", "non-numeric value 'n/a'", 12),
     (ROWS + "3000\n", "row has 1 column(s)", 11), ("# h\n4000\t0.5\n", "empty spectrum", 2)],
    ids=["empty", "non-numeric", "short-row", "one-point"],
)
def test_text_rejects_bad_input(tmp_path: Path, content: str, expected: str, line: int | None) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(FormatError) as info:
        detect_reader("ftir", path).read(path)
    assert expected in str(info.value) and str(path) in str(info.value)
    if line is not None:
        assert info.value.line == line
