"""Per-cycle analysis: synthetic runs with known answers and the real 5-cycle GCPL sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from battkg.ingest.cycling.analysis import cycle_summary, cycle_summary_from_parsed, end_of_life
from battkg.readers import detect_reader
from tests.conftest import manifest_entries, requires_shared_samples, sample_path


def _synthetic(discharge_hours: list[float], dt: float = 1.0) -> tuple[np.ndarray, ...]:
    """Cycles of 1 h charge at +1 A / 4.0 V then discharge at -1 A / 3.0 V (sample-and-hold)."""
    t, v, i, c = [0.0], [3.5], [0.0], [1]
    for cycle, hours in enumerate(discharge_hours, start=1):
        for current, volts, duration in ((1.0, 4.0, 3600.0), (-1.0, 3.0, hours * 3600.0)):
            for _ in range(int(round(duration / dt))):
                t.append(t[-1] + dt)
                v.append(volts)
                i.append(current)
                c.append(cycle)
    return np.array(t), np.array(v), np.array(i), np.array(c)


def test_cycle_summary_known_answers() -> None:
    t, v, i, c = _synthetic([0.9, 0.8])
    s = cycle_summary(t, v, i, c, method="right")
    assert list(s["cycle"]) == [1, 2]
    np.testing.assert_allclose(s["charge_capacity_Ah"], [1.0, 1.0])
    np.testing.assert_allclose(s["discharge_capacity_Ah"], [0.9, 0.8])
    np.testing.assert_allclose(s["coulombic_efficiency"], [0.9, 0.8])
    np.testing.assert_allclose(s["charge_energy_Wh"], [4.0, 4.0])
    np.testing.assert_allclose(s["discharge_energy_Wh"], [2.7, 2.4])
    np.testing.assert_allclose(s["mean_charge_voltage_V"], [4.0, 4.0])
    np.testing.assert_allclose(s["mean_discharge_voltage_V"], [3.0, 3.0])
    # Trapezoid differs only at the steps: within one sample interval out of 3600.
    trap = cycle_summary(t, v, i, c)
    np.testing.assert_allclose(trap["discharge_capacity_Ah"], [0.9, 0.8], rtol=1e-3)
    # charge_first=False inverts the ratio for cells that start with a discharge.
    inv = cycle_summary(t, v, i, c, method="right", charge_first=False)
    np.testing.assert_allclose(inv["coulombic_efficiency"], [1 / 0.9, 1 / 0.8])


def test_cycle_summary_without_cycles_and_rejects_bad_shapes() -> None:
    t, v, i, _ = _synthetic([0.5])
    s = cycle_summary(t, v, i, method="right")
    assert len(s) == 1 and s["discharge_capacity_Ah"].iloc[0] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="equal length"):
        cycle_summary(t, v[:-1], i)
    with pytest.raises(ValueError, match="method"):
        cycle_summary(t, v, i, method="simpson")


def _summary(capacities: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"cycle": np.arange(1, len(capacities) + 1),
                         "discharge_capacity_Ah": capacities, "charge_capacity_Ah": capacities})


def test_end_of_life_reached() -> None:
    result = end_of_life(_summary([1.2, 1.0, 1.0, 0.95, 0.9, 0.8, 0.75, 0.7]))
    assert result["reference_cycle"] == 4 and result["reference_capacity_Ah"] == pytest.approx(0.95)
    assert result["end_of_life_cycle"] == 7  # first below 0.8 * 0.95 = 0.76
    assert result["capacity_retention"] == pytest.approx(0.7 / 0.95)
    assert result["first_cycle_discharge_capacity_Ah"] == pytest.approx(1.2)
    assert result["n_cycles"] == 8 and result["last_cycle"] == 8


def test_end_of_life_not_reached_and_too_few_cycles() -> None:
    result = end_of_life(_summary([1.0, 1.0, 1.0, 1.0, 0.9]), threshold=0.8)
    assert result["end_of_life_cycle"] == "not reached" and result["last_cycle"] == 5
    assert result["capacity_retention"] == pytest.approx(0.9)
    short = end_of_life(_summary([1.0, 1.0]))
    assert short["reference_capacity_Ah"] is None and short["n_cycles"] == 2
    assert end_of_life(_summary([1.0, 0.5]), formation_cycles=0)["end_of_life_cycle"] == 2


GCPL_5 = manifest_entries("cycling", formats=("GCPL, 5 cycles",))


@requires_shared_samples
@pytest.mark.parametrize("entry", GCPL_5)
def test_real_gcpl_run_integrates_to_vendor_capacities(entry: dict) -> None:
    """Integrated current equals EC-Lab's own per-half-cycle capacity counter."""
    path = sample_path(entry)
    parsed = detect_reader("cycling", path).read(path)
    summary = cycle_summary_from_parsed(parsed, method="right")
    block = parsed.blocks[0]
    cycles = block.array("cycle_index").values
    half_last = int(entry["oracle"]["groups"]["/"]["half cycle"]["last"])
    assert list(summary["cycle"]) == list(range(1, half_last // 2 + 2))
    vendor_c = [block.array("charge_capacity").values[cycles == k].max() for k in summary["cycle"]]
    vendor_d = [block.array("discharge_capacity").values[cycles == k].max() for k in summary["cycle"]]
    np.testing.assert_allclose(summary["charge_capacity_Ah"], vendor_c, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(summary["discharge_capacity_Ah"], vendor_d, rtol=1e-6, atol=1e-12)
    trap = cycle_summary_from_parsed(parsed)
    np.testing.assert_allclose(trap["discharge_capacity_Ah"], vendor_d, rtol=1e-2)
    full = summary[summary["charge_capacity_Ah"] > 0]
    assert ((full["coulombic_efficiency"] > 0.8) & (full["coulombic_efficiency"] < 1.0)).all()
    v = entry["oracle"]["groups"]["/"]["Ewe"]
    assert (full["mean_discharge_voltage_V"] > v["min"]).all()
    assert (full["mean_charge_voltage_V"] < v["max"]).all()
    eol = end_of_life(summary)
    assert eol["n_cycles"] == len(summary) and eol["reference_cycle"] == 4
    assert eol["end_of_life_cycle"] == "not reached"


def test_cycle_summary_with_an_unordered_cycle_counter_sums_by_cycle() -> None:
    """A counter that goes back (a resumed run re-using cycle numbers) is grouped by value, like a
    plain per-interval loop; a cycle seen only at the first sample gets zeros."""
    rng = np.random.default_rng(7)
    t = np.cumsum(rng.uniform(0.5, 2.0, 400))
    v = rng.uniform(3.0, 4.2, 400)
    i = rng.normal(0.0, 1.0, 400)
    c = np.r_[9, rng.integers(1, 5, 399)]
    s = cycle_summary(t, v, i, c, method="right")
    assert list(s["cycle"]) == [1, 2, 3, 4, 9]
    for row in s.itertuples():
        qc = sum(i[k] * (t[k] - t[k - 1]) / 3600 for k in range(1, 400) if c[k] == row.cycle and i[k] > 0)
        ed = sum(-i[k] * v[k] * (t[k] - t[k - 1]) / 3600 for k in range(1, 400) if c[k] == row.cycle and i[k] < 0)
        assert row.charge_capacity_Ah == pytest.approx(qc, rel=1e-12, abs=0)
        assert row.discharge_energy_Wh == pytest.approx(ed, rel=1e-12, abs=0)
