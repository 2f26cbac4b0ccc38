"""PHI .spe reader: conformance with the MANIFEST oracle (yadg 7.0.1) and bad input."""

from __future__ import annotations

import struct
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
from tests.ingest.bad_input import assert_format_error

SPE = manifest_entries("xps", formats=("phi-spe",))


def _read(path: Path):
    reader = detect_reader("xps", path)
    assert reader.info.id == "xps.phi.spe"
    return reader.read(path)


@requires_shared_samples
@pytest.mark.parametrize("entry", SPE)
def test_phi_spe_matches_oracle(entry: dict) -> None:
    parsed = _read(sample_path(entry))
    groups = entry["oracle"]["groups"]
    assert sorted(b.name for b in parsed.blocks) == sorted(g.lstrip("/") for g in groups)
    for block in parsed.blocks:
        expected = groups["/" + block.name]["E"]  # yadg's E is the binding energy
        be = block.array("binding_energy").values
        assert be.size == block.array("intensity").values.size == expected["n"]
        assert be[0] == pytest.approx(expected["first"], abs=1e-6)
        assert be[-1] == pytest.approx(expected["last"], abs=1e-6)
        assert block.array("intensity").unit == "count/s"
        assert block.metadata["technique"] == "XPS"


@requires_shared_samples
@pytest.mark.parametrize("entry", SPE)
def test_phi_spe_header_facts_match_cross_check(entry: dict) -> None:
    (check,) = [c for c in entry["cross_checks"] if c["reader"].startswith("spe-xps-reader")]
    parsed = _read(sample_path(entry))
    assert parsed.metadata["instrument"] == check["instrument_model"]
    assert parsed.metadata["technique"] == check["metadata"]["Technique"]
    for block, expected in zip(parsed.blocks, check["blocks"]):
        assert block.name == expected["name"]
        (hv,) = [q for q in block.quantities if q.quantity == "ExcitationEnergy"]
        assert hv.value == pytest.approx(float(check["metadata"]["Source Energy"]))
        assert block.metadata["analyser_mode"] == check["metadata"]["Analyzer Mode"]
        be = block.array("binding_energy").values
        assert be[1] - be[0] == pytest.approx(expected["step"])
        # spe-xps-reader starts 8 bytes late (its last value is a denormal read from the dwell-time
        # trailer): its first value is our second point.  Where it is a plausible count rate, check that.
        if expected["y_first_raw"] > 1e-300:
            assert block.array("intensity").values[1] == pytest.approx(expected["y_first_raw"], rel=1e-6)


@requires_shared_samples
def test_phi_spe_block_metadata() -> None:
    parsed = _read(SAMPLES / "xps/phi_test0.spe")
    survey, f1s = parsed.blocks
    assert survey.metadata["scan_type"] == "survey"
    assert f1s.metadata["region"] == "F 1s" and f1s.metadata["scan_type"] == "high-resolution"
    assert f1s.metadata["source_label"] == "Al Kα"
    q = {x.quantity: x.value for x in f1s.quantities}
    assert q["PassEnergy"] == pytest.approx(29.35) and q["DwellTime"] == pytest.approx(0.16)
    assert q["WorkFunction"] == pytest.approx(4.7)
    assert "start_time" not in parsed.metadata and parsed.metadata["acquisition_date"].year == 2021
    np.testing.assert_allclose(f1s.array("kinetic_energy").values, 1486.6 - f1s.array("binding_energy").values)


# --- bad input ---------------------------------------------------------------------------------------------


def _sample() -> bytes:
    return (SAMPLES / "xps/phi_test0.spe").read_bytes()


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "bad.spe"
    path.write_bytes(data)
    return path


def _binary_start(data: bytes) -> int:
    return data.index(b"\nEOFH\n") + len(b"\nEOFH\n")


def _raises(path: Path, *fragments: str) -> FormatError:
    return assert_format_error("xps", "xps.phi.spe", path, *fragments)


@requires_shared_samples
def test_phi_spe_truncated(tmp_path: Path) -> None:
    data = _sample()
    err = _raises(_write(tmp_path, data[: len(data) - 500]), "truncated", "region 2 (F1s)")
    assert err.field == "data_end"
    _raises(_write(tmp_path, data[: _binary_start(data) + 40]), "truncated")
    _raises(_write(tmp_path, data[:400]), "EOFH")


@requires_shared_samples
def test_phi_spe_wrong_first_line(tmp_path: Path) -> None:
    err = _raises(_write(tmp_path, b"SOFX" + _sample()[4:]), "not 'SOFH'")
    assert err.line == 1


@requires_shared_samples
def test_phi_spe_non_numeric_value(tmp_path: Path) -> None:
    data = bytearray(_sample())
    start = _binary_start(bytes(data))
    struct.pack_into("<d", data, start + 208 + 8 * 5, float("nan"))  # 6th point of region 1
    _raises(_write(tmp_path, bytes(data)), "non-finite", "region 1 (1su)")
    text = _sample().replace(b"-0.1250 695.0", b"-0.1250 69x.0")
    err = _raises(_write(tmp_path, text), "'start' is not a number")
    assert err.line == 41 and err.field == "SpectralRegDef"


@requires_shared_samples
def test_phi_spe_empty_region(tmp_path: Path) -> None:
    data = bytearray(_sample().replace(b"F1s 9 161 ", b"F1s 9 0 "))
    start = _binary_start(bytes(data))
    struct.pack_into("<I", data, start + 16 + 96 + 0x14, 0)  # n_points of trace 2
    _raises(_write(tmp_path, bytes(data)), "empty region", "region 2 (F1s)")


@requires_shared_samples
def test_phi_spe_inconsistent_point_counts(tmp_path: Path) -> None:
    err = _raises(_write(tmp_path, _sample().replace(b"F1s 9 161 ", b"F1s 9 162 ")), "inconsistent point count")
    assert err.line == 41
    _raises(_write(tmp_path, _sample().replace(b"NoSpectralReg: 2", b"NoSpectralReg: 3")), "NoSpectralReg says 3")


@requires_shared_samples
def test_phi_spe_unknown_dtype_is_not_guessed(tmp_path: Path) -> None:
    data = bytearray(_sample())
    start = _binary_start(bytes(data))
    data[start + 16 + 0x48: start + 16 + 0x4C] = b"i2\x00\x00"
    err = _raises(_write(tmp_path, bytes(data)), "unknown data type tag", "Compass V6.4")
    assert err.field == "dtype"


@requires_shared_samples
def test_phi_spe_refuses_other_techniques(tmp_path: Path) -> None:
    _raises(_write(tmp_path, _sample().replace(b"Technique: XPS", b"Technique: AES")), "Technique is 'AES'")
