"""Per-cycle analysis of cycling time series (pure numpy/pandas).

:func:`cycle_summary` integrates current and voltage over time, so it needs
only ``time``, ``voltage``, ``current`` and a cycle index, not the vendor's
capacity columns.  :func:`end_of_life` turns the summary into the usual
ageing figures.

Conventions
    * Current is positive while charging (the battkg reader convention).
    * Integration is per time interval ``[t[k-1], t[k]]``.  ``method="trapezoid"``
      (default) uses the mean of the two end values of current and power;
      ``method="right"`` uses the value at ``t[k]`` (sample-and-hold, exact for
      cyclers such as EC-Lab whose current is the mean over the interval that
      ends at the sample).  An interval is charge if its current is > 0,
      discharge if < 0; rests contribute nothing.  An interval belongs to the
      cycle of its end sample.
    * Capacities in A·h, energies in W·h; the mean voltage of a half cycle is
      capacity weighted: energy / capacity (NaN without capacity).
    * Coulombic efficiency = discharge / charge capacity of the same cycle,
      which is the usual definition for a cell whose cycles start with charge
      (full cells, cathode half cells).  For cells whose cycles start with a
      discharge (anode half cells lithiated first) pass ``charge_first=False``
      to get charge / discharge.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

SUMMARY_COLUMNS = ("cycle", "charge_capacity_Ah", "discharge_capacity_Ah", "coulombic_efficiency",
                   "mean_charge_voltage_V", "mean_discharge_voltage_V", "charge_energy_Wh",
                   "discharge_energy_Wh")


def cycle_summary(
    time: np.ndarray,
    voltage: np.ndarray,
    current: np.ndarray,
    cycle_index: np.ndarray | None = None,
    *,
    method: str = "trapezoid",
    charge_first: bool = True,
) -> pd.DataFrame:
    """One row per cycle: capacities (A·h), energies (W·h), mean voltages (V), efficiency.

    ``time`` in s, ``voltage`` in V, ``current`` in A (positive = charging),
    ``cycle_index`` integer per sample (all one cycle when None).
    """
    t = np.asarray(time, dtype=np.float64)
    v = np.asarray(voltage, dtype=np.float64)
    i = np.asarray(current, dtype=np.float64)
    if not (t.shape == v.shape == i.shape) or t.ndim != 1:
        raise ValueError(f"time, voltage and current must be 1-D of equal length, got {t.shape}, {v.shape}, "
                         f"{i.shape}")
    cycles = (np.ones(t.shape, dtype=np.int64) if cycle_index is None
              else np.asarray(cycle_index).astype(np.int64, copy=False))
    if cycles.shape != t.shape:
        raise ValueError(f"cycle_index has shape {cycles.shape}, time has {t.shape}")
    if method not in ("trapezoid", "right"):
        raise ValueError(f"method must be 'trapezoid' or 'right', got {method!r}")
    if t.size < 2:
        return pd.DataFrame(columns=list(SUMMARY_COLUMNS))
    # Arrays this function made itself are updated in place: at 10^6 rows a fresh array costs more
    # in page faults than its arithmetic.  Same operations in the same order: the same bits.
    dt = np.diff(t)
    p = i * v
    if method == "trapezoid":
        i_int = i[1:] + i[:-1]
        i_int /= 2
        p_int = p[1:] + p[:-1]
        p_int /= 2
    else:
        i_int, p_int = i[1:], p[1:]  # i_int is the caller's array, p_int a view of ours
    charge = i_int > 0
    discharge = i_int < 0
    dq = np.multiply(i_int, dt, out=i_int if method == "trapezoid" else None)
    dq /= 3600.0  # A·h per interval
    de = np.multiply(p_int, dt, out=p_int)
    de /= 3600.0  # W·h per interval
    all_cycles, bins = _cycle_groups(cycles)
    # Per-cycle sums with bincount: no per-row Python objects, no DataFrame of 10^6 rows.  Bin 2k
    # sums cycle k's charge intervals, bin 2k + 1 its discharge intervals (sign flipped); a rest
    # interval adds 0 to bin 2k.  One bincount serves both directions, and each bin adds the same
    # values in the same order as a sum per direction would (the extra zeros change no bit).
    # Cycles that occur only at the first sample own no interval and sum to 0.
    bins *= 2  # the group numbers _cycle_groups made for this call
    bins += discharge
    resting = ~(charge | discharge)
    sums = []
    for weights in (dq, de):
        weights[resting] = 0.0
        np.negative(weights, out=weights, where=discharge)
        sums.append(np.bincount(bins, weights=weights, minlength=2 * len(all_cycles)))
    qc, qd, ec, ed = sums[0][0::2], sums[0][1::2], sums[1][0::2], sums[1][1::2]
    with np.errstate(divide="ignore", invalid="ignore"):
        ce = np.where(qc > 0, qd / qc, np.nan) if charge_first else np.where(qd > 0, qc / qd, np.nan)
        mean_c = np.where(qc > 0, ec / qc, np.nan)
        mean_d = np.where(qd > 0, ed / qd, np.nan)
    return pd.DataFrame({
        "cycle": all_cycles.astype(np.int64),
        "charge_capacity_Ah": qc, "discharge_capacity_Ah": qd, "coulombic_efficiency": ce,
        "mean_charge_voltage_V": mean_c, "mean_discharge_voltage_V": mean_d,
        "charge_energy_Wh": ec, "discharge_energy_Wh": ed,
    })


def _cycle_groups(cycles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct cycles, group number of each interval [k-1, k] = of sample k >= 1).

    Cycler files are in cycle order, so the groups come from where the counter changes
    (O(n)); an unsorted counter goes through ``np.unique`` (O(n log n))."""
    step = np.diff(cycles)
    if not np.any(step < 0):
        changes = step != 0
        return cycles[np.r_[0, np.flatnonzero(changes) + 1]], np.cumsum(changes)
    all_cycles, inverse = np.unique(cycles, return_inverse=True)
    return all_cycles, inverse[1:]


def cycle_summary_from_parsed(parsed: Any, **options: Any) -> pd.DataFrame:
    """:func:`cycle_summary` of a cycling :class:`~battkg.readers.ParsedFile` ("timeseries" block)."""
    block = next(b for b in parsed.blocks if b.name == "timeseries")
    names = {a.name for a in block.arrays}
    cycles = block.array("cycle_index").values if "cycle_index" in names else None
    return cycle_summary(block.array("time").values, block.array("voltage").values,
                         block.array("current").values, cycles, **options)


def end_of_life(summary: pd.DataFrame, formation_cycles: int = 3, threshold: float = 0.8) -> dict[str, Any]:
    """Ageing figures from a :func:`cycle_summary` table.

    The reference capacity is the discharge capacity of the first cycle after
    the ``formation_cycles`` formation cycles (row ``formation_cycles`` of the
    summary sorted by cycle, so cycle 4 with the default of 3 when cycles are
    numbered from 1): formation cycles are excluded because their capacity
    still changes as the SEI forms.  End of life is the first cycle after the
    reference whose discharge capacity is below ``threshold`` × reference, or
    ``"not reached"``.  Capacity retention is last / reference discharge capacity.
    With too few cycles for a reference, the reference-based values are None.
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    if formation_cycles < 0:
        raise ValueError(f"formation_cycles must be >= 0, got {formation_cycles}")
    table = summary.sort_values("cycle").reset_index(drop=True)
    n = len(table)
    result: dict[str, Any] = {
        "n_cycles": n,
        "last_cycle": int(table["cycle"].iloc[-1]) if n else None,
        "first_cycle_discharge_capacity_Ah": float(table["discharge_capacity_Ah"].iloc[0]) if n else None,
        "formation_cycles": formation_cycles,
        "threshold": threshold,
        "reference_cycle": None,
        "reference_capacity_Ah": None,
        "end_of_life_cycle": None,
        "capacity_retention": None,
    }
    if n <= formation_cycles:
        return result
    reference = float(table["discharge_capacity_Ah"].iloc[formation_cycles])
    result["reference_cycle"] = int(table["cycle"].iloc[formation_cycles])
    result["reference_capacity_Ah"] = reference
    if reference <= 0:
        return result
    after = table.iloc[formation_cycles + 1:]
    below = after[after["discharge_capacity_Ah"] < threshold * reference]
    result["end_of_life_cycle"] = int(below["cycle"].iloc[0]) if len(below) else "not reached"
    result["capacity_retention"] = float(table["discharge_capacity_Ah"].iloc[-1]) / reference
    return result
