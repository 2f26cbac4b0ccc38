"""VAMAS reader: conformance with the MANIFEST oracle (vamas 0.2.0, xylib) and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from battkg.errors import FormatError
from battkg.readers import detect_reader

from tests.conftest import (
    SAMPLES,
    manifest_entries,
    requires_shared_samples,
    sample_path,
)

VAMAS = manifest_entries("xps", formats=("vamas",))
MAGIC = "VAMAS Surface Chemical Analysis Standard Data Transfer Format 1988 May 4"


def _read(path: Path):
    reader = detect_reader("xps", path)
    assert reader.info.id == "xps.vamas"
    return reader.read(path)


@requires_shared_samples
@pytest.mark.parametrize("entry", VAMAS)
def test_vamas_matches_oracle(entry: dict) -> None:
    parsed = _read(sample_path(entry))
    oracle = entry["oracle"]
    assert len(parsed.blocks) == oracle["n_blocks"]
    for block, expected in zip(parsed.blocks, oracle["blocks"]):
        ke = block.array("kinetic_energy").values  # the oracle's x is the file's (kinetic) abscissa
        y = block.array("intensity").values  # vamas 0.2.0 reports the raw ordinate, as we do
        assert ke.size == y.size == expected["n_points"]
        assert ke[0] == pytest.approx(expected["x_start"], abs=1e-6)
        assert ke[1] - ke[0] == pytest.approx(expected["x_step"], abs=1e-6)
        assert y[0] == pytest.approx(expected["y_first"], rel=1e-6)
        assert y[-1] == pytest.approx(expected["y_last"], rel=1e-6)
        hv = expected["analysis_source_characteristic_energy"]
        (q,) = [q for q in block.quantities if q.quantity == "ExcitationEnergy"]
        assert q.value == pytest.approx(hv) and q.unit == "eV"
        be = block.array("binding_energy").values
        np.testing.assert_allclose(be, hv - ke, atol=1e-6)
        assert block.metadata["technique"] == expected["technique"]
        assert block.metadata["block_identifier"] == expected["block_identifier"]
        assert block.metadata.get("species", "") == expected["species"]
    assert parsed.metadata["technique"] == "XPS"


@requires_shared_samples
@pytest.mark.parametrize("entry", VAMAS)
def test_vamas_matches_xylib_last_points(entry: dict) -> None:
    (xylib,) = [c for c in entry["cross_checks"] if c["reader"].startswith("xylib")]
    parsed = _read(sample_path(entry))
    expected_blocks = xylib.get("blocks") or [xylib]
    for block, expected in zip(parsed.blocks, expected_blocks):
        assert block.array("kinetic_energy").values[-1] == pytest.approx(expected["x_last"], abs=1e-6)
        assert block.array("intensity").values.max() == pytest.approx(expected["y_max"], rel=1e-6)


@requires_shared_samples
def test_vamas_count_rate_matches_pynxtools_convention() -> None:
    """pynxtools-xps divides counts by dwell time x scans; our separate ``count_rate`` array does the same."""
    (entry,) = [e.values[0] for e in VAMAS if e.values[0]["path"].endswith("pynxtools_regular.vms")]
    (pnx,) = [c for c in entry["cross_checks"] if c["reader"].startswith("pynxtools") and "FAILED" not in c["reader"]]
    block = _read(sample_path(entry)).blocks[0]
    assert block.array("intensity").unit == "count"
    rate = block.array("count_rate")
    assert rate.unit == "count/s"
    assert rate.values[0] == pytest.approx(pnx["y_first"], rel=1e-5)
    assert rate.values[-1] == pytest.approx(pnx["y_last"], rel=1e-5)
    (dwell,) = [q for q in block.quantities if q.quantity == "DwellTime"]
    assert dwell.value == pytest.approx(pnx["dwell_time"])
    (pe,) = [q for q in block.quantities if q.quantity == "PassEnergy"]
    assert pe.value == pytest.approx(pnx["pass_energy"])
    assert block.metadata["sample_name"] == pnx["sample_name"]
    assert block.metadata["scan_type"] == "survey"
    assert block.metadata["source_label"] == "Al Kα"


@requires_shared_samples
def test_vamas_kratos_map_mode_metadata() -> None:
    """Kratos MAP-mode files: pynxtools-xps fails on them; we read FOV items and region labels."""
    parsed = _read(SAMPLES / "xps/xylib_mjr9_116a.vms")
    assert parsed.metadata["instrument"] == "Kratos Axis"
    c1s = parsed.blocks[4]
    assert c1s.metadata["region"] == "C 1s"
    assert c1s.metadata["scan_type"] == "high-resolution"
    assert c1s.metadata["raw"]["field_of_view_x"] == pytest.approx(6000)
    assert parsed.blocks[0].metadata["scan_type"] == "survey"  # species "Wide"
    assert c1s.metadata["n_scans"] == 10
    # The EIS file gives counts per second directly: no second rate array.
    eis = _read(SAMPLES / "xps/vamaspkg_xps_eis.vms").blocks[0]
    assert eis.array("intensity").unit == "count/s"
    assert all(a.name != "count_rate" for a in eis.arrays)


# --- synthetic files: grammar branches the samples do not cover -------------------------------------------


def _block_lines(ident: str, technique: str, *, scan_mode: str = "REGULAR", n: int = 5, extra_ident: bool = False,
                 values: list[str] | None = None) -> list[str]:
    lines = [ident, "sample A", "2024", "1", "2", "3", "4", "5", "1", "1", "a block comment", technique,
             "Al", "1486.6", "300", "1E37", "1E37", "45", "0", "FAT", "20"]
    if technique == "AES diff":
        lines.append("2")  # differential width: only for AES diff
    lines += ["1", "4.5", "0", "1E37", "1E37", "0", "0", "C", "1s", "-1"]
    if scan_mode == "REGULAR":
        lines += ["kinetic energy", "eV", "1190", "0.5", "1", "counts", "d"]
        data = values if values is not None else [str(100 + i) for i in range(n)]
        count = len(data)
        minmax = ["100", "200"]
    else:  # IRREGULAR: abscissa is the first corresponding variable
        lines += ["2", "kinetic energy", "eV", "counts", "d"]
        data = values if values is not None else [v for i in range(n) for v in (str(1190 + i * i), str(100 + i))]
        count = len(data)
        minmax = ["1190", "1206", "100", "200"]
    lines += ["pulse counting", "0.1", "2", "0", "1E37", "1E37", "0", "0", str(count), *minmax, *data]
    return lines


def _vamas(blocks: list[list[str]], *, scan_mode: str = "REGULAR", inclusion: list[str] | None = None) -> str:
    inclusion = inclusion or ["0"]
    head = [MAGIC, "Inst", "Model X", "Ada", "exp 1", "1", "file comment", "NORM", scan_mode, str(len(blocks)),
            "0", *inclusion, "0", "0", "0", str(len(blocks))]
    body = [line for block in blocks for line in block]
    return "\r\n".join(head + body + ["end of experiment", ""])


def _write(tmp_path: Path, text: str, name: str = "s.vms") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="latin-1")
    return path


def test_vamas_aes_file_says_aes(tmp_path: Path) -> None:
    parsed = _read(_write(tmp_path, _vamas([_block_lines("C KLL", "AES diff")])))
    assert parsed.metadata["technique"] == "AES"
    block = parsed.blocks[0]
    assert block.metadata["technique"] == "AES diff"
    assert block.metadata["raw"]["differential_width"] == 2.0  # the AES-only item was read in its place
    assert block.metadata["raw"]["species_label"] == "C"
    assert parsed.metadata["start_time"].utcoffset().total_seconds() == 3600


def test_vamas_mixed_techniques_are_reported(tmp_path: Path) -> None:
    parsed = _read(_write(tmp_path, _vamas([_block_lines("a", "XPS"), _block_lines("b", "AES dir")])))
    assert parsed.metadata["technique"] == "mixed"
    assert parsed.metadata["techniques"] == ["AES", "XPS"]


def test_vamas_irregular_scan_mode(tmp_path: Path) -> None:
    parsed = _read(_write(tmp_path, _vamas([_block_lines("C 1s", "XPS", scan_mode="IRREGULAR")],
                                           scan_mode="IRREGULAR")))
    block = parsed.blocks[0]
    np.testing.assert_allclose(block.array("kinetic_energy").values, [1190, 1191, 1194, 1199, 1206])
    np.testing.assert_allclose(block.array("intensity").values, [100, 101, 102, 103, 104])
    np.testing.assert_allclose(block.array("binding_energy").values, 1486.6 - np.array([1190, 1191, 1194, 1199, 1206]))


def test_vamas_exclusion_list_inherits_first_block(tmp_path: Path) -> None:
    """d = -1, prefix 12 (source label) excluded: block 2 omits the line and takes block 1's value."""
    second = _block_lines("second", "XPS")
    second.remove("Al")  # the analysis source label line is absent in block 2
    parsed = _read(_write(tmp_path, _vamas([_block_lines("first", "XPS"), second], inclusion=["-1", "12"])))
    assert [b.name for b in parsed.blocks] == ["first", "second"]
    assert parsed.blocks[1].metadata["raw"]["analysis_source_label"] == "Al"
    assert parsed.blocks[1].array("intensity").values.size == 5


def test_vamas_duplicate_identifiers_get_unique_names(tmp_path: Path) -> None:
    parsed = _read(_write(tmp_path, _vamas([_block_lines("C 1s", "XPS"), _block_lines("C 1s", "XPS")])))
    assert [b.name for b in parsed.blocks] == ["C 1s", "C 1s #2"]
    assert parsed.blocks[1].metadata["region"] == "C 1s"


# --- bad input ---------------------------------------------------------------------------------------------


def _sample_text() -> str:
    return (SAMPLES / "xps/vamaspkg_xps_eis.vms").read_bytes().decode("latin-1")


@requires_shared_samples
def test_vamas_truncated_file(tmp_path: Path) -> None:
    text = _sample_text()
    path = _write(tmp_path, text[: len(text) // 2])
    with pytest.raises(FormatError) as info:
        _read(path)
    assert "unexpected end of file" in str(info.value)
    assert str(path) in str(info.value)
    assert "block 1" in str(info.value)  # half the file ends inside the 8201-point survey
    assert info.value.line is not None


@requires_shared_samples
def test_vamas_wrong_first_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "VAMAS-ish\r\n" + _sample_text().split("\r\n", 1)[1])
    with pytest.raises(FormatError) as info:
        detect_reader("xps", path, format_id="xps.vamas").read(path)
    assert "format identifier" in str(info.value) and info.value.line == 1
    assert str(path) in str(info.value)


@requires_shared_samples
def test_vamas_non_numeric_ordinate(tmp_path: Path) -> None:
    lines = _sample_text().split("\r\n")
    # The EIS survey's first ordinate value follows its count (8201) and min/max.
    index = lines.index("8201") + 3 + 10
    lines[index] = "12x34"
    path = _write(tmp_path, "\r\n".join(lines))
    with pytest.raises(FormatError) as info:
        _read(path)
    assert "'12x34'" in str(info.value) and info.value.line == index + 1
    assert info.value.field == "ordinate_value" and "block 1" in str(info.value)


def test_vamas_empty_region(tmp_path: Path) -> None:
    path = _write(tmp_path, _vamas([_block_lines("C 1s", "XPS", values=[])]))
    with pytest.raises(FormatError) as info:
        _read(path)
    assert "empty region" in str(info.value) and "C 1s" in str(info.value)


def test_vamas_inconsistent_point_count(tmp_path: Path) -> None:
    # IRREGULAR: 2 corresponding variables, an odd number of ordinate values.
    block = _block_lines("C 1s", "XPS", scan_mode="IRREGULAR", values=["1190", "100", "1191"])
    path = _write(tmp_path, _vamas([block], scan_mode="IRREGULAR"))
    with pytest.raises(FormatError) as info:
        _read(path)
    assert "not a multiple" in str(info.value) and info.value.field == "number_of_ordinate_values"


@requires_shared_samples
def test_vamas_declared_count_larger_than_data(tmp_path: Path) -> None:
    """A block count that overstates its values runs into the next block: reported, not silently shifted."""
    lines = _sample_text().split("\r\n")
    lines[lines.index("8201")] = "8202"
    path = _write(tmp_path, "\r\n".join(lines))
    with pytest.raises(FormatError) as info:
        _read(path)
    assert str(path) in str(info.value)
    # The 8202nd value would be block 2's (empty) identifier line.
    assert "block 1" in str(info.value) and info.value.field == "ordinate_value"


def test_vamas_unknown_technique_and_mode(tmp_path: Path) -> None:
    path = _write(tmp_path, _vamas([_block_lines("C 1s", "XPX")]))
    with pytest.raises(FormatError, match="unknown technique 'XPX'"):
        _read(path)
    path = _write(tmp_path, _vamas([_block_lines("C 1s", "XPS")]).replace("\r\nNORM\r\n", "\r\nNORMAL\r\n"))
    with pytest.raises(FormatError, match="unknown experiment mode 'NORMAL'"):
        _read(path)


def test_vamas_missing_end_of_experiment(tmp_path: Path) -> None:
    path = _write(tmp_path, _vamas([_block_lines("C 1s", "XPS")]).replace("end of experiment", "107"))
    with pytest.raises(FormatError, match="end of experiment"):
        _read(path)
