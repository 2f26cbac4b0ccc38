"""Oracle check shared by the EIS reader tests (impedance.py-style oracle: Im(Z), battkg stores −Im(Z))."""

from __future__ import annotations

import pytest

from battkg.readers import Block, detect_reader
from tests.conftest import sample_path


def assert_spectrum_matches_oracle(entry: dict, reader_id: str) -> Block:
    """Detect + read the sample, check point count and first/last f, Re Z, −Im Z; return the block."""
    path = sample_path(entry)
    reader = detect_reader("eis", path)
    assert reader.info.id == reader_id
    block = reader.read(path).blocks[0]
    oracle = entry["oracle"]
    f = block.array("frequency").values
    re_z = block.array("real_impedance").values
    minus_im = block.array("negative_imaginary_impedance").values
    assert f.size == re_z.size == minus_im.size == oracle["n_points"]
    assert f[0] == pytest.approx(oracle["f_first_Hz"], rel=1e-6)
    assert f[-1] == pytest.approx(oracle["f_last_Hz"], rel=1e-6)
    assert re_z[0] == pytest.approx(oracle["Zre_first"], rel=1e-6)
    assert re_z[-1] == pytest.approx(oracle["Zre_last"], rel=1e-6)
    assert minus_im[0] == pytest.approx(-oracle["Zim_first"], rel=1e-6)  # the oracle reports Im(Z)
    assert minus_im[-1] == pytest.approx(-oracle["Zim_last"], rel=1e-6)
    return block
