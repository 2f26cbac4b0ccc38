"""Impedance → bulk (electrolyte) resistance → ionic conductivity.

Pure functions over arrays (numpy; scipy only inside :func:`fit_equivalent_circuit`).
Inputs follow the reader convention: frequency in Hz, Re(Z) and −Im(Z) in
ohm, −Im(Z) positive for a capacitive arc.

Two estimates of the bulk resistance R_b:

* :func:`bulk_resistance` — the high-frequency real-axis intercept.  Where
  −Im(Z) crosses zero going from inductive (−Im ≤ 0, cables at the highest
  frequencies) to capacitive (−Im > 0) before any capacitive arc, R_b is the
  Re(Z) at −Im(Z) = 0 by linear interpolation between the two bracketing
  points.  Without such a crossing (a spectrum that starts inside the arc or
  on the electrode-polarisation tail, as every MADAP spectrum does), R_b is
  the Re(Z) of the point with the smallest |−Im(Z)| among the points of the
  highest ``high_frequency_decades`` decade(s) that lie above the first
  maximum of −Im(Z) (so a valley between two arcs is never taken), flagged
  ``extrapolated``:
  it is then an upper bound of the intercept, not a measurement of it.
* :func:`fit_equivalent_circuit` — R0 of a complex non-linear least-squares
  fit of a small equivalent circuit (impedance.py circuit notation:
  ``R0-CPE1`` for blocking electrodes in a conductivity cell,
  ``R0-p(R1,CPE1)`` and ``R0-p(R1,CPE1)-CPE2`` for an electrode arc with or
  without a diffusion/polarisation tail), residuals weighted by |Z|.

:func:`ionic_conductivity` turns a resistance and a cell constant K = l/A into
σ = K / R in S/m (pint does the unit conversion).

Agreement with MADAP (``shared/samples/eis/madap_*.csv``, 39 spectra of
LiPF6 carbonate electrolytes, −30…60 °C, 20 kHz…50 Hz):

* MADAP's conductivity column is exactly ``cell constant [1/cm] / resistance``
  in S/cm (relative difference 0 to machine precision on all rows); ours
  from the same R and K reproduces it after S/cm → S/m.
* ``fit_equivalent_circuit(..., "R0-CPE1")`` gives R0 within 1.3 % of MADAP's
  fitted resistance on every row (median +0.4 %).
* :func:`bulk_resistance` has no zero crossing on any MADAP spectrum (they
  start at 20 kHz, below the bulk arc), so it returns the Re(Z) at 20 kHz,
  flagged extrapolated: −1.1 % … +16.2 % from MADAP's R, the largest
  excess at high temperature where R is smallest.  Use the circuit fit for
  such spectra.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

__all__ = [
    "ResistanceEstimate",
    "bulk_resistance",
    "fit_equivalent_circuit",
    "ionic_conductivity",
    "CIRCUITS",
]

# A crossing is only taken as *the* high-frequency intercept when no part of a
# capacitive arc precedes it: −Im(Z) at all higher frequencies stays below this
# fraction of the spectrum's largest |−Im(Z)| (noise around zero is allowed).
_ARC_FRACTION = 0.05


@dataclass(frozen=True)
class ResistanceEstimate:
    """A resistance read off an impedance spectrum, with how it was obtained."""

    value: float  # ohm
    method: str  # "hf_intercept", "hf_min_abs_imag" or "circuit_fit:<circuit>"
    description: str
    frequency_window: tuple[float, float]  # (lowest, highest) frequency used, Hz
    extrapolated: bool = False
    unit: str = "ohm"
    parameters: dict[str, float] = field(default_factory=dict)  # fitted circuit parameters
    residual: float | None = None  # fits: RMS of the |Z|-weighted residuals (relative)

    def as_quantity(self, label: str | None = None) -> Any:
        """This estimate as a :class:`battkg.readers.ScalarQuantity` (key ``ElectricResistance``)."""
        from battkg.readers import ScalarQuantity

        return ScalarQuantity("ElectricResistance", self.value, self.unit, label or self.method)


def _validated(frequency: Any, re_z: Any, minus_im_z: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Float arrays sorted by descending frequency; ValueError on unusable input."""
    f = np.asarray(frequency, dtype=np.float64).ravel()
    x = np.asarray(re_z, dtype=np.float64).ravel()
    y = np.asarray(minus_im_z, dtype=np.float64).ravel()
    if not (f.size == x.size == y.size):
        raise ValueError(f"frequency, Re(Z) and −Im(Z) differ in length ({f.size}, {x.size}, {y.size})")
    if f.size < 2:
        raise ValueError("a spectrum needs at least 2 points")
    if not (np.all(np.isfinite(f)) and np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("the spectrum contains nan or inf")
    if np.any(f <= 0):
        raise ValueError("frequencies must be > 0 Hz")
    order = np.argsort(-f, kind="stable")
    return f[order], x[order], y[order]


def bulk_resistance(frequency: Any, re_z: Any, minus_im_z: Any, *,
                    high_frequency_decades: float = 1.0) -> ResistanceEstimate:
    """The electrolyte (bulk) resistance from the high-frequency real-axis intercept.

    ``high_frequency_decades`` bounds the fallback search (no crossing) to
    ``f >= f_max / 10**high_frequency_decades``, so that the valley between an
    electrode arc and the low-frequency tail is never taken for the bulk.
    """
    f, x, y = _validated(frequency, re_z, minus_im_z)
    scale = float(np.max(np.abs(y))) or 1.0
    for i in range(f.size - 1):
        if np.max(y[: i + 1]) > _ARC_FRACTION * scale:
            break  # an arc has begun: a later crossing is not the high-frequency intercept
        if y[i] == 0.0:
            return ResistanceEstimate(
                float(x[i]), "hf_intercept",
                "Re(Z) of the high-frequency point where −Im(Z) is exactly 0",
                (float(f[i]), float(f[i])),
            )
        if y[i] < 0.0 < y[i + 1]:
            value = x[i] + (x[i + 1] - x[i]) * (0.0 - y[i]) / (y[i + 1] - y[i])
            return ResistanceEstimate(
                float(value), "hf_intercept",
                "high-frequency real-axis intercept: Re(Z) at −Im(Z) = 0, linear interpolation between the two "
                "points bracketing the inductive-to-capacitive zero crossing",
                (float(f[i + 1]), float(f[i])),
            )
    # Only the high-frequency side of the first arc: up to the first local
    # maximum of −Im(Z), so the valley between two arcs is never taken.
    falling = np.flatnonzero(np.diff(y) < 0)
    first_peak = int(falling[0]) if falling.size else f.size - 1
    window = (f >= f[0] / 10.0 ** high_frequency_decades) & (np.arange(f.size) <= first_peak)
    candidates = np.flatnonzero(window)
    best = int(candidates[np.argmin(np.abs(y[candidates]))])
    return ResistanceEstimate(
        float(x[best]), "hf_min_abs_imag",
        f"no zero crossing of −Im(Z) at high frequency: Re(Z) at the smallest |−Im(Z)| among the points within "
        f"{high_frequency_decades:g} decade(s) of the highest frequency and above the first maximum of −Im(Z) "
        f"(an upper bound of the intercept; "
        f"−Im(Z) = {y[best]:.6g} ohm there)",
        (float(f[candidates].min()), float(f[0])),
        extrapolated=True,
    )


# ---------------------------------------------------------------------------
# Equivalent-circuit fit (scipy).  Parameters are fitted as log(R), log(Q) and
# n in [0.3, 1] so that the solver never proposes negative resistances.

def _cpe(omega: np.ndarray, q: float, n: float) -> np.ndarray:
    return 1.0 / (q * (1j * omega) ** n)


def _r_cpe(p: np.ndarray, w: np.ndarray) -> np.ndarray:
    return np.exp(p[0]) + _cpe(w, np.exp(p[1]), p[2])


def _r_rcpe(p: np.ndarray, w: np.ndarray) -> np.ndarray:
    r1 = np.exp(p[1])
    return np.exp(p[0]) + r1 / (1.0 + r1 * np.exp(p[2]) * (1j * w) ** p[3])


def _r_rcpe_cpe(p: np.ndarray, w: np.ndarray) -> np.ndarray:
    return _r_rcpe(p[:4], w) + _cpe(w, np.exp(p[4]), p[5])


@dataclass(frozen=True)
class _Circuit:
    model: Callable[[np.ndarray, np.ndarray], np.ndarray]
    names: tuple[str, ...]  # parameter names, impedance.py style
    log_params: tuple[bool, ...]  # fitted as logarithm?


CIRCUITS: dict[str, _Circuit] = {
    "R0-CPE1": _Circuit(_r_cpe, ("R0", "CPE1_0", "CPE1_1"), (True, True, False)),
    "R0-p(R1,CPE1)": _Circuit(_r_rcpe, ("R0", "R1", "CPE1_0", "CPE1_1"), (True, True, True, False)),
    "R0-p(R1,CPE1)-CPE2": _Circuit(_r_rcpe_cpe, ("R0", "R1", "CPE1_0", "CPE1_1", "CPE2_0", "CPE2_1"),
                                   (True, True, True, False, True, False)),
}


def _initial_guesses(circuit: str, f: np.ndarray, x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """Starting points from the spectrum's shape (several n, best cost wins)."""
    w = 2 * np.pi * f
    r0 = max(float(bulk_resistance(f, x, y).value), 1e-12)
    r0 = min(r0, float(np.min(x[x > 0])) if np.any(x > 0) else r0)
    z_low = abs(complex(x[-1] - r0, -y[-1])) or 1.0
    guesses = []
    for n in (0.8, 0.95):
        q_tail = 1.0 / (z_low * w[-1] ** n)
        if circuit == "R0-CPE1":
            guesses.append(np.array([np.log(r0), np.log(q_tail), n]))
            continue
        apex = int(np.argmax(y))
        r1 = max(float(x.max() - r0), 1e-3 * r0)
        if circuit == "R0-p(R1,CPE1)-CPE2":
            after = np.flatnonzero((np.arange(y.size) > apex) & (np.r_[np.diff(y) > 0, False]))
            valley = int(after[0]) if after.size else y.size - 1
            r1 = max(float(x[valley] - r0), 1e-3 * r0)
        q1 = 1.0 / (r1 * w[apex] ** n)
        base = [np.log(r0), np.log(r1), np.log(q1), n]
        guesses.append(np.array(base if circuit == "R0-p(R1,CPE1)" else base + [np.log(q_tail), n]))
    return guesses


def fit_equivalent_circuit(frequency: Any, re_z: Any, minus_im_z: Any, circuit: str = "R0-CPE1",
                           initial_guess: list[float] | None = None) -> ResistanceEstimate:
    """Fit ``circuit`` (a key of :data:`CIRCUITS`) and return its R0 as the bulk resistance.

    Residuals are (Z_model − Z)/|Z| for real and imaginary parts, so every
    decade weighs alike.  ``initial_guess`` (impedance.py order and units:
    ohm, CPE Q in S·s^n, n) replaces the automatic starting points.  Raises
    ``ValueError`` for an unknown circuit or a fit that does not converge.
    """
    from scipy.optimize import least_squares  # heavy import, only when fitting

    if circuit not in CIRCUITS:
        raise ValueError(f"unknown circuit {circuit!r}; known: {', '.join(CIRCUITS)}")
    spec = CIRCUITS[circuit]
    f, x, y = _validated(frequency, re_z, minus_im_z)
    if f.size <= len(spec.names):
        raise ValueError(f"{circuit} has {len(spec.names)} parameters but the spectrum only {f.size} points")
    w = 2 * np.pi * f
    z = x - 1j * y
    weight = np.abs(z)
    weight[weight == 0] = 1.0
    lower = [-np.inf if is_log else 0.3 for is_log in spec.log_params]
    upper = [np.inf if is_log else 1.0 for is_log in spec.log_params]

    def residuals(p: np.ndarray) -> np.ndarray:
        d = (spec.model(p, w) - z) / weight
        return np.concatenate([d.real, d.imag])

    if initial_guess is not None:
        if len(initial_guess) != len(spec.names):
            raise ValueError(f"{circuit} needs {len(spec.names)} initial values ({', '.join(spec.names)})")
        starts = [np.array([np.log(v) if is_log else v for v, is_log in zip(initial_guess, spec.log_params)])]
    else:
        starts = _initial_guesses(circuit, f, x, y)
    best = None
    for start in starts:
        start = np.clip(start, [lo + 1e-9 for lo in lower], [hi - 1e-9 for hi in upper])
        result = least_squares(residuals, start, bounds=(lower, upper), x_scale="jac", max_nfev=2000)
        if result.success and (best is None or result.cost < best.cost):
            best = result
    if best is None:
        raise ValueError(f"the {circuit} fit did not converge")
    params = {name: float(np.exp(v) if is_log else v) for name, v, is_log in zip(spec.names, best.x, spec.log_params)}
    rms = float(np.sqrt(np.mean(best.fun ** 2)))
    return ResistanceEstimate(
        params["R0"], f"circuit_fit:{circuit}",
        f"R0 of a complex non-linear least-squares fit of {circuit} (scipy least_squares, residuals weighted by "
        f"1/|Z|, relative RMS residual {rms:.3g})",
        (float(f.min()), float(f.max())),
        parameters=params,
        residual=rms,
    )


def ionic_conductivity(resistance_ohm: float, cell_constant: float, cell_constant_unit: str = "1/cm") -> float:
    """Ionic conductivity σ = K_cell / R in S/m.

    ``cell_constant`` is K = l/A of the conductivity cell in ``cell_constant_unit``
    (any pint inverse length: ``"1/cm"``, ``"1/m"``, ``"cm**-1"``).
    """
    import pint

    from battkg.units import registry  # the project's one pint registry (quantities must not mix registries)

    if not np.isfinite(resistance_ohm) or resistance_ohm <= 0:
        raise ValueError(f"resistance must be a positive number of ohm (got {resistance_ohm!r})")
    if not np.isfinite(cell_constant) or cell_constant <= 0:
        raise ValueError(f"cell constant must be positive (got {cell_constant!r})")
    ureg = registry()
    try:
        k = ureg.Quantity(float(cell_constant), cell_constant_unit)
        sigma = (k / ureg.Quantity(float(resistance_ohm), "ohm")).to("S/m")
    except (pint.errors.DimensionalityError, pint.errors.UndefinedUnitError) as exc:
        raise ValueError(f"cell constant unit {cell_constant_unit!r} is not an inverse length: {exc}") from None
    return float(sigma.magnitude)
