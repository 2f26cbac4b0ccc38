"""Shared helpers of the cycling readers: the timeseries block and unit/sign conversions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from battkg.errors import FormatError
from battkg.readers import ArrayData, Block

# The ontology has no step or half-cycle quantity yet; both counters are
# dimensionless numbers.  Change here once it has one.
COUNTER_QUANTITY = "PureNumberQuantity"


def timeseries_block(
    path: Path,
    reader: str,
    *,
    time: np.ndarray,
    voltage: np.ndarray,
    current: np.ndarray,
    charge_capacity: np.ndarray | None = None,
    discharge_capacity: np.ndarray | None = None,
    cycle_index: np.ndarray | None = None,
    half_cycle: np.ndarray | None = None,
    step_index: np.ndarray | None = None,
    temperature: np.ndarray | None = None,
    temperature_unit: str = "degC",
    descriptions: dict[str, str] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Block:
    """The one ``timeseries`` block of a cycling file, in SI-ish units (s, V, A, A*h).

    All arrays must have the same length; a mismatch is a :class:`FormatError`
    because it means columns were misread.
    """
    descriptions = descriptions or {}
    spec: list[tuple[str, np.ndarray | None, str, str, str]] = [
        ("time", time, "Time", "s", "test time"),
        ("voltage", voltage, "CellVoltage", "V", "cell voltage"),
        ("current", current, "CellCurrent", "A", "current, positive = charging the cell"),
        ("charge_capacity", charge_capacity, "ChargingCapacity", "A*h",
         "charge capacity, cumulative within each half cycle"),
        ("discharge_capacity", discharge_capacity, "DischargingCapacity", "A*h",
         "discharge capacity, cumulative within each half cycle"),
        ("cycle_index", cycle_index, "CycleIndex", "dimensionless", "cycle number, 1-based"),
        ("half_cycle", half_cycle, COUNTER_QUANTITY, "dimensionless", "half-cycle counter"),
        ("step_index", step_index, COUNTER_QUANTITY, "dimensionless", "step index"),
        ("temperature", temperature, "ThermodynamicTemperature", temperature_unit, "temperature"),
    ]
    n = len(time)
    if n == 0:
        raise FormatError(path, "the data section is empty (no records)", reader=reader)
    arrays: list[ArrayData] = []
    for name, values, quantity, unit, text in spec:
        if values is None:
            continue
        values = np.asarray(values)
        if values.shape != (n,):
            raise FormatError(path, f"array '{name}' has {values.shape} values, time has {n}", reader=reader)
        # No copy when the reader already gives the dtype (10^6-row files: each copy is 8 MB).
        values = values.astype(np.int64 if quantity in ("CycleIndex", COUNTER_QUANTITY) else np.float64, copy=False)
        arrays.append(ArrayData(name, values, quantity, unit, descriptions.get(name, text)))
    return Block("timeseries", arrays=arrays, metadata=metadata or {})


def split_signed_capacity(q_signed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(charge, discharge) from one signed per-half-cycle capacity (positive while charging).

    Cyclers that report one signed "Q charge/discharge" counter (EC-Lab) reset
    it at every half cycle; the charge capacity is its positive part and the
    discharge capacity the magnitude of its negative part, both 0 outside
    their half cycles, as EC-Lab's own "Q charge" / "Q discharge" export columns.
    """
    q = np.asarray(q_signed, dtype=np.float64)
    return np.where(q > 0, q, 0.0), np.where(q < 0, -q, 0.0)


def one_based_cycles(cycle: np.ndarray) -> np.ndarray:
    """Shift a 0-based cycle counter to 1-based; keep a 1-based one."""
    cycle = np.asarray(cycle).astype(np.int64)
    return cycle + 1 if cycle.size and cycle.min() == 0 else cycle


def count_cycles(cycle_index: np.ndarray) -> int:
    """Number of distinct cycles; O(n) for the usual non-decreasing counter, else ``np.unique``."""
    cycles = np.asarray(cycle_index)
    if cycles.size == 0:
        return 0
    step = np.diff(cycles)
    if not np.any(step < 0):
        return np.count_nonzero(step) + 1
    return len(np.unique(cycles))
