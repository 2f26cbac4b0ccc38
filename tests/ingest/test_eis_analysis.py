"""Bulk resistance and ionic conductivity: synthetic spectra with known R, and the MADAP table."""

from __future__ import annotations

import numpy as np
import pytest

from battkg.ingest.eis import madap_table
from battkg.ingest.eis.analysis import (
    CIRCUITS,
    bulk_resistance,
    fit_equivalent_circuit,
    ionic_conductivity,
)
from tests.conftest import manifest_entries, requires_shared_samples, sample_path

MADAP = manifest_entries("eis", formats=("conductivity + formulation",))


def _rc(f: np.ndarray, r0: float, r1: float, c: float, inductance: float = 0.0) -> np.ndarray:
    """Analytic Z of L + R0 + (R1 || C)."""
    w = 2 * np.pi * f
    return 1j * w * inductance + r0 + r1 / (1 + 1j * w * r1 * c)


def _r_cpe(f: np.ndarray, r0: float, q: float, n: float) -> np.ndarray:
    return r0 + 1 / (q * (2j * np.pi * f) ** n)


FREQ = np.logspace(6, -1, 71)  # 1 MHz .. 0.1 Hz, 10 points per decade


def test_intercept_without_crossing_is_flagged_extrapolation() -> None:
    z = _rc(FREQ, 50.0, 200.0, 1e-6)  # −Im(Z) > 0 everywhere: no crossing
    estimate = bulk_resistance(FREQ, z.real, -z.imag)
    assert estimate.method == "hf_min_abs_imag"
    assert estimate.extrapolated
    assert estimate.value == pytest.approx(50.0, rel=1e-5)  # the arc has closed by 1 MHz
    assert estimate.frequency_window == (pytest.approx(1e5), pytest.approx(1e6))
    assert estimate.unit == "ohm"
    assert "no zero crossing" in estimate.description


def test_intercept_interpolates_the_inductive_crossing() -> None:
    from scipy.optimize import brentq

    r0, r1, c, inductance = 50.0, 200.0, 1e-6, 2e-6
    z = _rc(FREQ, r0, r1, c, inductance)
    estimate = bulk_resistance(FREQ[::-1], z.real[::-1], -z.imag[::-1])  # order must not matter
    f_cross = brentq(lambda f: _rc(np.array([f]), r0, r1, c, inductance)[0].imag, 1e3, 1e7)
    exact = _rc(np.array([f_cross]), r0, r1, c, inductance)[0].real
    assert estimate.method == "hf_intercept"
    assert not estimate.extrapolated
    low, high = estimate.frequency_window
    assert low < f_cross < high
    assert estimate.value == pytest.approx(exact, rel=1e-4)


def test_intercept_never_takes_the_valley_between_two_arcs() -> None:
    f = np.logspace(np.log10(5e4), -2, 71)
    z = 10 + _rc(f, 0.0, 100.0, 1e-7) + _rc(f, 0.0, 1000.0, 1e-3)
    # Over three decades the smallest |−Im| is the valley at R0 + R1 ≈ 110 ohm; the
    # intercept must come from the high-frequency side of the first arc instead.
    estimate = bulk_resistance(f, z.real, -z.imag, high_frequency_decades=3)
    assert estimate.value == pytest.approx(z.real[0])
    assert estimate.value < 25.0


def test_intercept_ignores_a_low_frequency_inductive_crossing() -> None:
    z = _rc(FREQ, 50.0, 200.0, 1e-6)
    minus_im = -z.imag
    minus_im[-5:] = -np.abs(minus_im[-5:])  # an inductive loop at the lowest frequencies
    minus_im[-3:] = np.abs(minus_im[-3:])
    estimate = bulk_resistance(FREQ, z.real, minus_im)
    assert estimate.method == "hf_min_abs_imag"
    assert estimate.value == pytest.approx(50.0, rel=1e-5)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([1.0, 2.0], [1.0], [1.0, 2.0]), "differ in length"),
        (([1.0], [1.0], [1.0]), "at least 2 points"),
        (([1.0, 0.0], [1.0, 2.0], [1.0, 2.0]), "must be > 0"),
        (([1.0, 2.0], [1.0, np.nan], [1.0, 2.0]), "nan or inf"),
    ],
)
def test_bulk_resistance_rejects_bad_arrays(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        bulk_resistance(*args)


@pytest.mark.parametrize(
    ("circuit", "z", "r0"),
    [
        ("R0-CPE1", _r_cpe(FREQ, 37.0, 2e-5, 0.87), 37.0),
        ("R0-p(R1,CPE1)", 12.0 + 1 / (1 / 300.0 + 1e-6 * (2j * np.pi * FREQ) ** 0.9), 12.0),
        ("R0-p(R1,CPE1)-CPE2", 12.0 + 1 / (1 / 300.0 + 1e-6 * (2j * np.pi * FREQ) ** 0.9)
         + 1 / (1e-3 * (2j * np.pi * FREQ) ** 0.7), 12.0),
    ],
)
def test_circuit_fit_recovers_r0(circuit: str, z: np.ndarray, r0: float) -> None:
    estimate = fit_equivalent_circuit(FREQ, z.real, -z.imag, circuit)
    assert estimate.method == f"circuit_fit:{circuit}"
    assert estimate.value == pytest.approx(r0, rel=1e-4)
    assert set(estimate.parameters) == set(CIRCUITS[circuit].names)
    assert estimate.residual is not None and estimate.residual < 1e-6


def test_circuit_fit_rejects_unknown_circuit() -> None:
    with pytest.raises(ValueError, match="unknown circuit"):
        fit_equivalent_circuit(FREQ, FREQ, FREQ, "R0-L1")


@pytest.mark.parametrize(
    ("resistance", "k", "unit", "expected"),
    [(100.0, 1.0, "1/cm", 1.0), (100.0, 100.0, "1/m", 1.0), (250.0, 4.72026, "cm**-1", 4.72026 / 250.0 * 100)],
)
def test_ionic_conductivity_in_s_per_m(resistance: float, k: float, unit: str, expected: float) -> None:
    assert ionic_conductivity(resistance, k, unit) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("resistance", "k", "unit"), [(100.0, 1.0, "cm"), (0.0, 1.0, "1/cm"), (1.0, -1.0, "1/m")])
def test_ionic_conductivity_rejects_bad_input(resistance: float, k: float, unit: str) -> None:
    with pytest.raises(ValueError):
        ionic_conductivity(resistance, k, unit)


def _madap_rows(entry: dict) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, float, float, float]]:
    """(f, Re Z, −Im Z, MADAP R [ohm], cell constant [1/cm], MADAP σ [S/cm]) per row."""
    rows = []
    for block in madap_table.read(sample_path(entry)).blocks:
        by_label = {q.label: q.value for q in block.quantities}
        rows.append((block.array("frequency").values, block.array("real_impedance").values,
                     block.array("negative_imaginary_impedance").values, by_label[madap_table.LABEL_RESISTANCE],
                     by_label[madap_table.LABEL_CELL_CONSTANT], by_label[madap_table.LABEL_CONDUCTIVITY]))
    return rows


@requires_shared_samples
@pytest.mark.parametrize("entry", MADAP)
def test_conductivity_reproduces_madap_from_its_resistance(entry: dict) -> None:
    # MADAP: σ [S/cm] = cell constant [1/cm] / R [ohm]; ours is in S/m.
    for *_spectrum, resistance, k, sigma_s_per_cm in _madap_rows(entry):
        assert ionic_conductivity(resistance, k, "1/cm") == pytest.approx(sigma_s_per_cm * 100, rel=1e-12)


@requires_shared_samples
@pytest.mark.parametrize("entry", MADAP)
def test_intercept_and_fit_agree_with_madap_resistance(entry: dict) -> None:
    rows = _madap_rows(entry)
    intercept, fitted = [], []
    for f, re_z, minus_im, resistance, _k, _sigma in rows:
        estimate = bulk_resistance(f, re_z, minus_im)
        # MADAP spectra start at 20 kHz, already below the bulk arc: never a crossing.
        assert estimate.extrapolated
        intercept.append(estimate.value / resistance - 1)
        fitted.append(fit_equivalent_circuit(f, re_z, minus_im, "R0-CPE1").value / resistance - 1)
    # Measured on the 39 rows: intercept −1.1 % .. +16.2 %, R0-CPE1 fit −1.0 % .. +1.3 %
    # (documented in battkg.ingest.eis.analysis).
    assert -0.02 <= min(intercept) and max(intercept) <= 0.17
    assert max(abs(d) for d in fitted) <= 0.02
