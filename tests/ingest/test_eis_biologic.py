"""EC-Lab impedance readers (.mpr/.mpt): MANIFEST oracle and .mpr-vs-.mpt consistency."""

from __future__ import annotations

import numpy as np
import pytest

from battkg.errors import FormatError
from battkg.ingest._eclab import read_mpr, read_mpt
from battkg.readers import detect_reader
from tests.conftest import SAMPLES, manifest_entries, requires_shared_samples, sample_path

ECLAB_EIS = manifest_entries("eis", formats=("eclab",))
EIS_PAIRS = [p for p in ECLAB_EIS if p.values[0]["path"].endswith(".mpr")
             and (SAMPLES / p.values[0]["path"].replace(".mpr", ".mpt")).exists()]
# Arrays compared with the oracle: battkg array -> (yadg variable, factor from oracle unit).
ORACLE_ARRAYS = {"frequency": ("freq", 1.0), "real_impedance": ("Re(Z)", 1.0),
                 "negative_imaginary_impedance": ("-Im(Z)", 1.0),
                 "voltage": ("<Ewe>", 1.0), "current": ("<I>", 1e-3)}
QUALITY = ("THD", "NSD", "NSR", "h2|", "h3|", "h4|", "h5|", "h6|", "h7|")


def _concat(parsed, name: str) -> np.ndarray:
    return np.concatenate([b.array(name).values for b in parsed.blocks])


@requires_shared_samples
@pytest.mark.parametrize("entry", ECLAB_EIS)
def test_eclab_eis_matches_oracle(entry: dict) -> None:
    path = sample_path(entry)
    reader = detect_reader("eis", path)
    assert reader.info.id == "eis.biologic." + path.suffix[1:]
    parsed = reader.read(path)
    stats = entry["oracle"]["groups"]["/"]
    assert parsed.n_points == stats["freq"]["n"]
    for name, (key, factor) in ORACLE_ARRAYS.items():
        values = _concat(parsed, name)
        assert values[0] == pytest.approx(stats[key]["first"] * factor, rel=1e-6, abs=1e-6 * factor), name
        assert values[-1] == pytest.approx(stats[key]["last"] * factor, rel=1e-6, abs=1e-6 * factor), name
    cycles = stats["cycle number"]
    assert [b.metadata["cycle_number"] for b in parsed.blocks] == list(range(int(cycles["first"]),
                                                                              int(cycles["last"]) + 1))
    assert parsed.metadata["technique"] in ("PEIS", "GEIS")
    assert parsed.metadata["technique"].lower() in entry["path"]
    galvani = entry.get("oracle_galvani", {})
    if "startdate" in galvani:
        assert parsed.metadata["start_time"].date().isoformat() == galvani["startdate"]


@requires_shared_samples
@pytest.mark.parametrize("entry", EIS_PAIRS)
def test_eis_mpr_and_mpt_agree(entry: dict) -> None:
    """All .mpr columns equal the .mpt export's, except EC-Lab's -1/0 quality fillers above 100 kHz."""
    mpr_path = sample_path(entry)
    mpr = read_mpr(mpr_path, reader="test")
    mpt = read_mpt(mpr_path.with_suffix(".mpt"), reader="test")
    freq = mpr.columns["freq/Hz"].values
    for label, column in mpr.columns.items():
        other = mpt.column(label)
        assert other is not None, label
        rows = freq < 1e5 if any(q in label for q in QUALITY) else np.ones(freq.shape, bool)
        np.testing.assert_allclose(column.values[rows].astype(float), other.values[rows].astype(float),
                                   rtol=2e-7, atol=1e-12, err_msg=label)
    a = detect_reader("eis", mpr_path).read(mpr_path)
    b = detect_reader("eis", mpr_path.with_suffix(".mpt")).read(mpr_path.with_suffix(".mpt"))
    assert [x.name for x in a.blocks] == [x.name for x in b.blocks]
    for x, y in zip(a.blocks, b.blocks):
        for u, w in zip(x.arrays, y.arrays):
            assert (u.name, u.unit) == (w.name, w.unit)
            np.testing.assert_allclose(u.values, w.values, rtol=2e-7, atol=1e-12, err_msg=u.name)


@requires_shared_samples
def test_eis_reader_refuses_a_cycling_file() -> None:
    path = SAMPLES / "cycling/eclab_cp.mpr"
    with pytest.raises(FormatError, match="not an impedance file"):
        detect_reader("eis", path).read(path)
