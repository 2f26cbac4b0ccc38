"""EC-Lab cycling readers (.mpr/.mpt): MANIFEST oracle, .mpr-vs-.mpt consistency, bad input.

Synthetic files for the bad-input tests are built in ``tmp_path`` by the
builders below (also used by the other EC-Lab tests).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from battkg.errors import FormatError
from battkg.ingest._eclab import DATA_COLUMNS, FLAG_COLUMNS, MPR_MAGIC, read_mpr, read_mpt
from battkg.readers import detect_reader
from tests.conftest import SAMPLES, manifest_entries, requires_shared_samples, sample_path
def _module(short: str, long: str, version: int, data: bytes) -> bytes:
    header = struct.pack("<10s25sII8s", short.encode().ljust(10), long.encode().ljust(25), len(data), version,
                         b"01/02/24")
    return b"MODULE" + header + data


def build_mpr(path: Path, ids: list[int], rows: list[dict[int, float]], *, widths: dict[int, int] | None = None,
              technique: int = 0x04, n_points: int | None = None) -> Path:
    """A version-3 .mpr with a settings module and one data module.

    ``widths`` gives the byte width of ids that are not in the table (written as zeros).
    """
    widths = widths or {}
    fields = []
    if any(i in FLAG_COLUMNS for i in ids):
        fields.append(("flags", "u1"))
    for i in ids:
        if i in FLAG_COLUMNS:
            continue
        fields.append((f"c{i}", DATA_COLUMNS[i].dtype if i in DATA_COLUMNS else f"V{widths[i]}"))
    table = np.zeros(len(rows), dtype=np.dtype(fields))
    for k, row in enumerate(rows):
        flags = 0
        for i, value in row.items():
            if i in FLAG_COLUMNS:
                mask, _ = FLAG_COLUMNS[i]
                shift = (mask & -mask).bit_length() - 1
                flags |= (int(value) << shift) & mask
            else:
                table[f"c{i}"][k] = value
        if "flags" in table.dtype.names:
            table["flags"][k] = flags
    head = struct.pack("<IB", len(rows) if n_points is None else n_points, len(ids))
    head += struct.pack(f"<{len(ids)}H", *ids)
    head = head.ljust(406, b"\x00")
    settings = bytes([technique]) + b"\x00" * 0x300
    raw = MPR_MAGIC + _module("VMP Set", "VMP settings", 0, settings) + _module(
        "VMP data", "VMP data", 3, head + table.tobytes())
    path.write_bytes(raw)
    return path


GCPL_IDS = [1, 2, 3, 21, 31, 65, 131, 4, 7, 6, 467, 468]


def gcpl_rows(n: int = 20) -> list[dict[int, float]]:
    """A small GCPL run: 1 mA charge for n/2 s, then -1 mA discharge (1 s steps)."""
    rows = []
    q = 0.0
    for k in range(n):
        charging = k < n // 2
        dq = (1.0 if charging else -1.0) / 3600.0 if k else 0.0  # mA·h per 1 s step
        if k == n // 2:
            q = 0.0
        q += dq
        rows.append({1: 1, 2: int(charging), 3: 0, 21: 0, 31: 0, 65: 0, 131: 1 if charging else 2,
                     4: float(k), 7: dq, 6: 3.5 + (0.01 * k if charging else -0.01 * k), 467: q,
                     468: 0 if charging else 1})
    return rows


MPT_HEADER = """EC-Lab ASCII FILE
Nb header lines : {n}

Galvanostatic Cycling with Potential Limitation

Run on channel : 1 (SN 1)
Acquisition started on : 01/10/2024 11:02:29.886
Device : SP-300 (SN 1854)
EC-Lab for windows v11.50 (software)
Mass of active material : {mass} mg
"""


def build_mpt(path: Path, rows: list[str] | None = None, *, n_header: int | None = None, comma: bool = False,
              columns: str = "mode\ttime/s\tEwe/V\tI/mA\tQ charge/discharge/mA.h\thalf cycle\t") -> Path:
    """A small .mpt; ``n_header`` overrides the declared header line count."""
    header = MPT_HEADER.format(n="{n}", mass="1,5" if comma else "1.5")
    n_lines = header.count("\n") + 1  # + the column header line
    text_rows = rows if rows is not None else [
        f"1\t{k}.0\t{3.5 + 0.01 * k:.4f}\t1.0\t{k / 3600:.6e}\t0\t" for k in range(10)]
    if comma:
        text_rows = [r.replace(".", ",") for r in text_rows]
    text = header.format(n=n_header if n_header is not None else n_lines) + columns + "\n" + "\n".join(text_rows)
    path.write_bytes((text + "\n").encode("cp1252"))
    return path


# --------------------------------------------------------------------------- oracle helpers


def _manifest() -> list[dict]:
    return json.loads((SAMPLES / "MANIFEST.json").read_text()) if (SAMPLES / "MANIFEST.json").exists() else []


def _pair(entry: dict) -> dict | None:
    """The MANIFEST entry of the other file of an .mpr/.mpt pair, if any."""
    stem, suffix = entry["path"].rsplit(".", 1)
    other = stem + (".mpt" if suffix == "mpr" else ".mpr")
    return next((e for e in _manifest() if e["path"] == other), None)


def oracle_stats(entry: dict) -> dict[str, dict]:
    """Per-variable {n, first, last} from the yadg oracle.

    yadg 7.0.1 reads decimal-comma .mpt exports wrongly (gcpl.issue_149.mpt:
    Ewe 34228721.0); for an .mpt whose values are off by orders of magnitude
    from its .mpr pair, the pair's oracle (same measurement) is used instead.
    """
    stats = entry["oracle"]["groups"]["/"]
    pair = _pair(entry)
    if entry["path"].endswith(".mpt") and pair is not None:
        pair_stats = pair["oracle"]["groups"]["/"]
        for key in ("Ewe", "<Ewe>"):
            if key in stats and key in pair_stats and abs(stats[key]["first"]) > 1e3 * max(
                    abs(pair_stats[key]["first"]), 1e-9):
                return pair_stats
    return stats


TECHNIQUE_BY_STEM = {"gcpl": "GCPL", "cp": "CP", "mb": "MB"}
ECLAB_CYCLING = manifest_entries("cycling", formats=("eclab",))
PAIRS = [p for p in ECLAB_CYCLING if p.values[0]["path"].endswith(".mpr")
         and (SAMPLES / p.values[0]["path"].replace(".mpr", ".mpt")).exists()]


# --------------------------------------------------------------------------- oracle conformance


@requires_shared_samples
@pytest.mark.parametrize("entry", ECLAB_CYCLING)
def test_eclab_cycling_matches_oracle(entry: dict) -> None:
    path = sample_path(entry)
    reader = detect_reader("cycling", path)
    assert reader.info.id == "cycling.biologic." + path.suffix[1:]
    parsed = reader.read(path)
    stats = oracle_stats(entry)
    block = parsed.blocks[0]
    n = stats["half cycle"]["n"]
    assert parsed.n_points == n
    volt_key = "Ewe" if "Ewe" in stats else "<Ewe>"
    voltage = block.array("voltage").values
    assert voltage[0] == pytest.approx(stats[volt_key]["first"], abs=2e-6)
    assert voltage[-1] == pytest.approx(stats[volt_key]["last"], abs=2e-6)
    for key in ("I", "<I>"):  # oracle in mA, battkg in A
        if key in stats:
            current = block.array("current").values
            assert current[0] * 1e3 == pytest.approx(stats[key]["first"], rel=1e-5, abs=1e-6)
            assert current[-1] * 1e3 == pytest.approx(stats[key]["last"], rel=1e-5, abs=1e-6)
    half = block.array("half_cycle").values
    assert half[0] == stats["half cycle"]["first"] and half[-1] == stats["half cycle"]["last"]
    cycles = block.array("cycle_index").values
    assert cycles[-1] == stats["half cycle"]["last"] // 2 + 1  # 1-based
    assert parsed.metadata["n_cycles"] == len(np.unique(half // 2))
    if "cycle number" in stats:  # EC-Lab's own 0-based cycle number (.mpt only)
        assert cycles[0] == stats["cycle number"]["first"] + 1
        assert cycles[-1] == stats["cycle number"]["last"] + 1
    if "galvani" in entry.get("oracle_galvani", {}).get("reader", "") and "startdate" in entry["oracle_galvani"]:
        start = parsed.metadata.get("start_time")  # absent without a LOG module: then the module date
        day = start.date().isoformat() if start else parsed.raw_metadata["settings"]["settings_date"]
        assert day == entry["oracle_galvani"]["startdate"]
    stem = Path(entry["path"]).name.split("_")[1].split(".")[0]
    if len(parsed.raw_metadata["header_lines"]) > 2 or path.suffix == ".mpr":  # a 3-line .mpt names none
        assert parsed.metadata["technique"] == TECHNIQUE_BY_STEM[stem]
    # Capacities: the per-half-cycle split of EC-Lab's signed counter.
    charge, discharge = block.array("charge_capacity").values, block.array("discharge_capacity").values
    assert np.all(charge >= 0) and np.all(discharge >= 0) and not np.any((charge > 0) & (discharge > 0))


@requires_shared_samples
@pytest.mark.parametrize("entry", PAIRS)
def test_mpr_and_mpt_agree(entry: dict) -> None:
    """Every column of the .mpr equals the same column of EC-Lab's own .mpt export."""
    mpr_path = sample_path(entry)
    mpr = read_mpr(mpr_path, reader="test")
    mpt = read_mpt(mpr_path.with_suffix(".mpt"), reader="test")
    assert mpr.n_points == mpt.n_points
    compared = 0
    for label, column in mpr.columns.items():
        other = mpt.column(label)
        assert other is not None, f"{label} missing from the .mpt"
        # float32 columns are printed with 8 significant digits in the .mpt
        np.testing.assert_allclose(column.values.astype(float), other.values.astype(float), rtol=2e-7,
                                   atol=1e-12, err_msg=label)
        compared += 1
    assert compared == len(mpr.columns)
    a = detect_reader("cycling", mpr_path).read(mpr_path).blocks[0]
    b = detect_reader("cycling", mpr_path.with_suffix(".mpt")).read(mpr_path.with_suffix(".mpt")).blocks[0]
    assert [x.name for x in a.arrays] == [x.name for x in b.arrays]
    for x, y in zip(a.arrays, b.arrays):
        assert x.unit == y.unit and x.quantity == y.quantity
        np.testing.assert_allclose(x.values, y.values, rtol=2e-7, atol=1e-10, err_msg=x.name)


@requires_shared_samples
def test_german_locale_mpt_reads_decimal_commas() -> None:
    path = SAMPLES / "cycling/eclab_gcpl.issue_149.mpt"
    parsed = detect_reader("cycling", path).read(path)
    assert parsed.blocks[0].array("voltage").values[0] == pytest.approx(3.4228721)
    assert parsed.metadata["software_version"] == "EC-Lab 11.50"
    assert parsed.metadata["start_time"].isoformat() == "2024-01-10T11:02:29.886000"


@requires_shared_samples
def test_active_mass_and_instrument_from_mpt_and_mpr() -> None:
    for suffix in (".mpr", ".mpt"):
        path = SAMPLES / f"cycling/eclab_gcpl.issue_211{suffix}"
        parsed = detect_reader("cycling", path).read(path)
        (mass,) = [q for q in parsed.quantities if q.quantity == "ActiveMass"]
        assert (mass.value, mass.unit) == (pytest.approx(0.79), "mg")
        assert "channel 8 (SN 21637)" in parsed.metadata["instrument"]
        assert "0858" in parsed.metadata["instrument"]


# --------------------------------------------------------------------------- synthetic files


def test_synthetic_mpr_round_trip_and_current_from_dq(tmp_path: Path) -> None:
    path = build_mpr(tmp_path / "run.mpr", GCPL_IDS, gcpl_rows(20))
    parsed = detect_reader("cycling", path).read(path)
    block = parsed.blocks[0]
    assert parsed.metadata["technique"] == "GCPL"
    current = block.array("current").values
    np.testing.assert_allclose(current[1:10], 1e-3, rtol=1e-9)  # dq/Δt: +1 mA while charging
    np.testing.assert_allclose(current[11:], -1e-3, rtol=1e-9)
    assert block.array("charge_capacity").values[9] == pytest.approx(9 / 3600 / 1000)
    assert block.array("discharge_capacity").values[-1] == pytest.approx(10 / 3600 / 1000)
    assert set(block.array("cycle_index").values) == {1}


def test_unknown_column_with_certain_width_is_kept(tmp_path: Path) -> None:
    ids = [1, 4, 999, 6]
    rows = [{1: 1, 4: float(k), 6: 3.0 + k} for k in range(5)]
    path = build_mpr(tmp_path / "u.mpr", ids, rows, widths={999: 4})
    data = read_mpr(path, reader="test")
    assert data.columns["unknown_999"].values.shape == (5,)
    np.testing.assert_allclose(data.columns["Ewe/V"].values, [3, 4, 5, 6, 7])
    assert any("999" in w and "time/s" in w for w in data.warnings)


def test_two_unknown_columns_raise_naming_id_and_previous_column(tmp_path: Path) -> None:
    ids = [1, 4, 998, 999, 6]
    path = build_mpr(tmp_path / "u2.mpr", ids, [{4: 1.0}] * 3, widths={998: 4, 999: 2})
    with pytest.raises(FormatError) as info:
        read_mpr(path, reader="cycling.biologic.mpr")
    text = str(info.value)
    assert "column ID 998 after column time/s (id 4)" in text and ".mpt" in text and "EC-Lab" in text


def test_unknown_column_with_impossible_width_raises(tmp_path: Path) -> None:
    path = build_mpr(tmp_path / "u3.mpr", [4, 997, 6], [{4: 1.0}] * 3, widths={997: 3})
    with pytest.raises(FormatError, match="column ID 997 after column time/s"):
        read_mpr(path, reader="test")


@pytest.mark.parametrize("cut", [10, 200, 60])
def test_truncated_mpr_is_rejected(tmp_path: Path, cut: int) -> None:
    good = build_mpr(tmp_path / "good.mpr", GCPL_IDS, gcpl_rows(20)).read_bytes()
    path = tmp_path / "cut.mpr"
    path.write_bytes(good[:-cut])
    with pytest.raises(FormatError, match="truncated"):
        detect_reader("cycling", path).read(path)


def test_mpr_with_wrong_magic_is_rejected(tmp_path: Path) -> None:
    good = build_mpr(tmp_path / "good.mpr", GCPL_IDS, gcpl_rows(4)).read_bytes()
    path = tmp_path / "bad.mpr"
    path.write_bytes(b"BIO-LOGIC MODULAR FILX" + good[22:])
    with pytest.raises(FormatError, match="not an EC-Lab .mpr file"):
        detect_reader("cycling", path).read(path)


def test_mpr_with_no_records_is_rejected(tmp_path: Path) -> None:
    path = build_mpr(tmp_path / "empty.mpr", GCPL_IDS, [])
    with pytest.raises(FormatError, match="data section is empty"):
        detect_reader("cycling", path).read(path)


def test_synthetic_mpt_reads_and_decimal_comma_gives_same_values(tmp_path: Path) -> None:
    dot = detect_reader("cycling", build_mpt(tmp_path / "a.mpt")).read(tmp_path / "a.mpt")
    comma = detect_reader("cycling", build_mpt(tmp_path / "b.mpt", comma=True)).read(tmp_path / "b.mpt")
    for x, y in zip(dot.blocks[0].arrays, comma.blocks[0].arrays):
        np.testing.assert_array_equal(x.values, y.values)
    assert dot.blocks[0].array("voltage").values[3] == pytest.approx(3.53)
    assert dot.metadata["technique"] == "GCPL"
    assert [(q.quantity, q.value, q.unit) for q in comma.quantities] == [("ActiveMass", 1.5, "mg")]


def test_mpt_non_numeric_row_names_the_line(tmp_path: Path) -> None:
    rows = [f"1\t{k}.0\t3.5\t1.0\t0.0\t0\t" for k in range(5)] + ["1\t5.0\tabc\t1.0\t0.0\t0\t"]
    path = build_mpt(tmp_path / "bad.mpt", rows)
    with pytest.raises(FormatError) as info:
        detect_reader("cycling", path).read(path)
    assert "non-numeric value 'abc' in column 3" in str(info.value)
    n_header = int(path.read_text().splitlines()[1].split(":")[1])
    assert info.value.line == n_header + 6


@pytest.mark.parametrize("delta", [-2, 1, 3])
def test_mpt_header_line_count_disagreeing_is_rejected(tmp_path: Path, delta: int) -> None:
    true_count = build_mpt(tmp_path / "probe.mpt").read_text().splitlines().index(
        "mode\ttime/s\tEwe/V\tI/mA\tQ charge/discharge/mA.h\thalf cycle\t") + 1
    path = build_mpt(tmp_path / "bad.mpt", n_header=true_count + delta)
    with pytest.raises(FormatError, match="header line count disagrees"):
        detect_reader("cycling", path).read(path)


def test_mpt_empty_data_section_is_rejected(tmp_path: Path) -> None:
    path = build_mpt(tmp_path / "empty.mpt", rows=[])
    with pytest.raises(FormatError, match="data section is empty"):
        detect_reader("cycling", path).read(path)


def test_mpt_short_row_is_rejected(tmp_path: Path) -> None:
    rows = [f"1\t{k}.0\t3.5\t1.0\t0.0\t0\t" for k in range(5)] + ["1\t5.0\t3.5"]
    path = build_mpt(tmp_path / "short.mpt", rows)
    with pytest.raises(FormatError, match="row has 3 field"):
        detect_reader("cycling", path).read(path)
