"""CH Instruments impedance text reader: MANIFEST oracle and bad-input errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from battkg.errors import FormatError
from battkg.ingest.eis import chi_text
from tests.conftest import manifest_entries, requires_shared_samples
from tests.ingest.eis_oracle import assert_spectrum_matches_oracle


@requires_shared_samples
@pytest.mark.parametrize("entry", manifest_entries("eis", formats=("chinstruments-txt",)))
def test_chi_matches_oracle(entry: dict) -> None:
    block = assert_spectrum_matches_oracle(entry, "eis.chi.txt")
    re_z = block.array("real_impedance").values
    minus_im = block.array("negative_imaginary_impedance").values
    # The file's |Z| column (4 significant digits) agrees with Re/Im: the columns are not swapped.
    np.testing.assert_allclose(block.array("impedance_modulus").values, np.hypot(re_z, minus_im), rtol=2e-3)


@requires_shared_samples
def test_chi_metadata_from_header() -> None:
    from tests.conftest import SAMPLES

    parsed = chi_text.read(SAMPLES / "eis/impedance_exampleDataCHInstruments.txt")
    assert parsed.metadata["instrument"] == "CH Instruments CHI660E"
    assert parsed.metadata["technique"] == "PEIS"
    assert parsed.metadata["start_time"].isoformat() == "2020-02-20T15:55:08"
    by_label = {q.label: (q.value, q.unit) for q in parsed.quantities}
    assert by_label["AC voltage amplitude"] == (0.025, "V")
    assert parsed.raw_metadata["header"]["High Frequency (Hz)"] == "2e+6"


HEADER = (
    "Feb. 20, 2020   15:55:08\nA.C. Impedance\nFile: c:\\x.bin\nInstrument Model:  CHI660E\n\n"
    "Init E (V) = 0\nAmplitude (V) = 0.005\n\nFreq/Hz, Z'/ohm, Z\"/ohm, Z/ohm, Phase/deg\n\n"
)
N_HEADER = HEADER.count("\n")
ROWS = "".join(f"{1e5 / 2 ** i:.3e}, {100 + i:.3e}, {-5 - i:.3e}, {100 + i:.3e}, -3.0\n" for i in range(6))


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.txt"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "expected", "line"),
    [
        (HEADER + ROWS + "1.0e+0, 1.2e+2", "row has 2 column(s), expected 5", N_HEADER + 7),
        (HEADER.replace("Freq/Hz, Z'/ohm", "Time/s, I/A") + ROWS, "no column-name line", N_HEADER + 1),
        (HEADER.replace("Z'/ohm", "Q/ohm") + ROWS, "no column for Re(Z)", N_HEADER - 1),
        (HEADER.replace("A.C. Impedance", "Cyclic Voltammetry") + ROWS, "not a CHI impedance export", None),
        (HEADER + "5.0e+4, 1.0e+2, oops, 1.0e+2, -3.0\n" + ROWS, "non-numeric value 'oops' in column 3",
         N_HEADER + 1),
        (HEADER + ROWS + "5.0e+4, 1.0e+2, oops, 1.0e+2, -3.0\n" + ROWS, "non-numeric value 'oops' in column 3",
         N_HEADER + 7),
        (HEADER, "no numeric data block", None),
        (HEADER + ROWS + "1.0e+0, 1.2e+2, 1, 2, 3, 4\n", "row has 6 column(s), expected 5", N_HEADER + 7),
    ],
    ids=["truncated", "wrong-header", "missing-column", "not-impedance", "non-numeric-first-row", "non-numeric-row",
         "empty-data", "inconsistent-columns"],
)
def test_chi_rejects_bad_input(tmp_path: Path, text: str, expected: str, line: int | None) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(FormatError) as info:
        chi_text.read(path)
    assert expected in str(info.value)
    assert str(path) in str(info.value)
    if line is not None:
        assert info.value.line == line
