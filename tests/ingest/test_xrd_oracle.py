"""How the XRD vendor-reader tests read the MANIFEST oracle, and a check that they understand every entry.

The MANIFEST oracles come from several readers with different key styles
(xylib/fairmat ``x_first``..., hand-written xml.etree ``two_theta_start``
rounded to 4 decimals, yadg ``groups``).  :func:`expected_pattern` turns any
of them into one record with a tolerance that fits its rounding, so the
per-format tests compare with the MANIFEST and never with hard-coded values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from battkg.readers import ParsedFile
from tests.conftest import manifest_entries, requires_shared_samples

VENDOR_FORMATS = ("panalytical-xrdml", "bruker-raw", "bruker-brml", "rigaku-rasx", "nexus-hdf5")


@dataclass
class Expected:
    n_points: int
    x_first: float
    x_last: float
    y_first: float
    y_last: float
    x_abs: float  # absolute tolerance on 2θ, from the oracle's rounding
    y_min: float | None = None
    y_max: float | None = None
    kalpha1: float | None = None
    anode: str | None = None
    scan_axis: str | None = None
    metadata: dict[str, Any] | None = None


def _successful(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """The primary oracle and every cross-check that did not fail."""
    found = [entry["oracle"]]
    found += [c for c in entry.get("cross_checks", []) if not str(c.get("reader", "")).endswith("FAILED")]
    return found


def expected_pattern(entry: dict[str, Any]) -> Expected:
    """The oracle values of one MANIFEST entry (primary oracle first, cross-checks for metadata)."""
    oracle = entry["oracle"]
    if "groups" in oracle:  # yadg
        group = oracle["groups"]["/"]
        exp = Expected(group["intensity"]["n"], group["angle"]["first"], group["angle"]["last"],
                       group["intensity"]["first"], group["intensity"]["last"], x_abs=1e-6,
                       y_min=group["intensity"].get("min"), y_max=group["intensity"].get("max"))
    elif "x_first" in oracle:  # xylib, fairmat, GSAS-II, nexusformat: 7 significant digits
        exp = Expected(oracle["n_points"], oracle["x_first"], oracle["x_last"], oracle["y_first"], oracle["y_last"],
                       x_abs=1e-4, y_min=oracle.get("y_min"), y_max=oracle.get("y_max"))
    else:  # xml.etree by hand: 2θ rounded to 4 decimals
        exp = Expected(oracle["n_points"], oracle["two_theta_start"], oracle["two_theta_end"], oracle["y_first"],
                       oracle["y_last"], x_abs=6e-5)
    for source in _successful(entry):
        exp.kalpha1 = exp.kalpha1 or source.get("kalpha1_angstrom") or source.get("wavelength")
        exp.anode = exp.anode or source.get("anode_material")
        exp.scan_axis = exp.scan_axis or source.get("scan_axis") or source.get("ScanType")
        if source.get("metadata"):
            exp.metadata = source["metadata"]
            exp.kalpha1 = exp.kalpha1 or (float(source["metadata"]["ALPHA1"]) if "ALPHA1" in source["metadata"]
                                          else None)
            exp.anode = exp.anode or source["metadata"].get("ANODE_MATERIAL")
    return exp


def assert_matches_oracle(parsed: ParsedFile, entry: dict[str, Any]) -> None:
    """The shared conformance check: first block against the MANIFEST oracle."""
    exp = expected_pattern(entry)
    block = parsed.blocks[0]
    two_theta = block.array("two_theta")
    intensity = block.array("intensity")
    assert two_theta.quantity == "TwoTheta" and two_theta.unit == "degree"
    assert intensity.quantity == "DiffractionIntensity" and intensity.unit in ("count", "count/s")
    assert two_theta.values.dtype == np.float64 and intensity.values.dtype == np.float64
    assert two_theta.values.size == intensity.values.size == exp.n_points
    assert two_theta.values[0] == pytest.approx(exp.x_first, abs=exp.x_abs)
    assert two_theta.values[-1] == pytest.approx(exp.x_last, abs=exp.x_abs)
    assert intensity.values[0] == pytest.approx(exp.y_first, rel=1e-6, abs=1e-6)
    assert intensity.values[-1] == pytest.approx(exp.y_last, rel=1e-6, abs=1e-6)
    if exp.y_min is not None:
        assert intensity.values.min() == pytest.approx(exp.y_min, rel=1e-6, abs=1e-6)
    if exp.y_max is not None:
        assert intensity.values.max() == pytest.approx(exp.y_max, rel=1e-6, abs=1e-6)
    if exp.kalpha1 is not None:
        (ka1,) = [q for q in parsed.quantities if q.quantity == "Wavelength" and q.label == "Kα1"]
        assert ka1.unit == "angstrom"
        assert ka1.value == pytest.approx(exp.kalpha1, abs=1e-6)
    if exp.anode is not None:
        assert parsed.metadata["anode"] == exp.anode
        assert parsed.metadata["radiation"].startswith(exp.anode + " K")
    if exp.scan_axis is not None:
        assert block.metadata["scan_axis"] == exp.scan_axis


@requires_shared_samples
@pytest.mark.parametrize("entry", manifest_entries("xrd", formats=VENDOR_FORMATS))
def test_every_vendor_xrd_entry_has_an_oracle_these_tests_understand(entry: dict[str, Any]) -> None:
    exp = expected_pattern(entry)
    assert exp.n_points > 1
    assert exp.x_last > exp.x_first
