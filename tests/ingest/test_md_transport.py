"""Transport analysis on synthetic random walks with a known D, and on a real trajectory for shapes/units."""

from __future__ import annotations

import numpy as np
import pytest

from battkg.ingest.md import transport
from tests.conftest import manifest_entries, requires_shared_samples, sample_path

DT_PS = 0.1
D_TRUE = {"Li": 0.5, "P": 0.2}  # Å²/ps, i.e. 5e-9 and 2e-9 m²/s: electrolyte-like


def _random_walk(n_particles: int, n_frames: int, d_coeff: float, seed: int) -> np.ndarray:
    """Brownian trajectory: each Cartesian step ~ N(0, 2 D Δt), so MSD(τ) = 6 D τ exactly in expectation."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, np.sqrt(2 * d_coeff * DT_PS), size=(n_frames, n_particles, 3))
    steps[0] = rng.uniform(0, 20, size=(n_particles, 3))  # random start positions
    return np.cumsum(steps, axis=0)


@pytest.fixture(scope="module")
def electrolyte() -> tuple[np.ndarray, list[str]]:
    """1000 Li + 1000 P walkers × 500 frames (seeded); 1000 per species keeps D's scatter ~2 %."""
    li = _random_walk(1000, 500, D_TRUE["Li"], seed=7)
    p = _random_walk(1000, 500, D_TRUE["P"], seed=11)
    return np.concatenate([li, p], axis=1), ["Li"] * 1000 + ["P"] * 1000


def test_fft_msd_equals_direct_average_over_origins() -> None:
    pos = _random_walk(7, 40, 0.3, seed=1)
    direct = [np.mean(np.sum((pos[k:] - pos[: len(pos) - k]) ** 2, axis=2)) for k in range(len(pos))]
    result = transport.mean_square_displacement(pos, DT_PS)
    np.testing.assert_allclose(result.msd, direct, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(result.lag_times, np.arange(40) * DT_PS)


def test_msd_agrees_with_mdanalysis_einstein_msd() -> None:
    """Independent implementation: MDAnalysis EinsteinMSD (windowed, non-FFT) on the same walk."""
    import warnings

    import MDAnalysis as mda
    from MDAnalysis.analysis.msd import EinsteinMSD
    from MDAnalysis.coordinates.memory import MemoryReader

    pos = _random_walk(20, 50, 0.4, seed=2).astype(np.float32)
    universe = mda.Universe.empty(20, trajectory=True)
    universe.load_new(pos, format=MemoryReader, dt=DT_PS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MDAnalysis warns that the trajectory has no box
        reference = EinsteinMSD(universe, select="all", msd_type="xyz", fft=False).run().results.timeseries
    ours = transport.mean_square_displacement(pos.astype(np.float64), DT_PS).msd
    np.testing.assert_allclose(ours, reference, rtol=1e-4, atol=1e-4)


def test_self_diffusion_recovers_known_d(electrolyte: tuple[np.ndarray, list[str]]) -> None:
    positions, species = electrolyte
    msds = transport.msd_by_species(positions, species, np.arange(500) * DT_PS)
    for name, d_true in D_TRUE.items():
        fit = transport.self_diffusion(msds[name])
        assert fit.diffusion_coefficient == pytest.approx(d_true, rel=0.05)
        assert fit.r_squared > 0.99
        # default window: middle 60 % of the lag times
        assert (fit.fit_start, fit.fit_end) == pytest.approx((0.2 * 49.9, 0.8 * 49.9), abs=DT_PS)
        quantity = fit.quantity()
        assert (quantity.quantity, quantity.unit) == ("DiffusionCoefficient", "m**2/s")
        assert quantity.value == pytest.approx(d_true * 1e-8, rel=0.05)


def test_wrapped_trajectory_is_unwrapped_with_the_box() -> None:
    pos = _random_walk(200, 300, 0.5, seed=3)
    box = np.array([5.0, 6.0, 7.0, 90.0, 90.0, 90.0])
    wrapped = np.mod(pos, box[:3])
    plain = transport.mean_square_displacement(pos, DT_PS)
    unwrapped = transport.mean_square_displacement(wrapped, DT_PS, box=box)
    np.testing.assert_allclose(unwrapped.msd, plain.msd, rtol=1e-9, atol=1e-9)
    naive = transport.mean_square_displacement(wrapped, DT_PS)
    assert naive.msd[-1] < 0.5 * plain.msd[-1]  # without unwrapping, the box caps the MSD


def test_triclinic_unwrap() -> None:
    pos = _random_walk(50, 200, 0.5, seed=5)
    dims = np.array([10.0, 11.0, 12.0, 80.0, 95.0, 110.0])
    from battkg.ingest.md._common import dimensions_to_cell

    cell = dimensions_to_cell(dims)
    frac = pos @ np.linalg.inv(cell)
    wrapped = (frac - np.floor(frac)) @ cell
    np.testing.assert_allclose(transport.unwrap(wrapped, dims), pos - (pos[0] - wrapped[0]), atol=1e-9)


def test_nernst_einstein_conductivity_against_hand_computation() -> None:
    e, k_b = 1.602176634e-19, 1.380649e-23  # exact SI values
    d = {"Li": 0.5, "P": 0.2}  # Å²/ps
    counts = {"Li": 50, "P": 50}  # PF6⁻ tracked by its P atom
    volume, temperature = 60.0**3, 300.0  # Å³, K
    by_hand = e**2 / (volume * 1e-30 * k_b * temperature) * sum(counts[i] * 1 * d[i] * 1e-8 for i in d)
    sigma = transport.nernst_einstein_conductivity(d, counts, {"Li": +1, "P": -1}, volume, temperature)
    assert (sigma.quantity, sigma.unit) == ("IonicConductivity", "S/m")
    assert sigma.value == pytest.approx(by_hand, rel=1e-9)
    assert 1 < sigma.value < 20  # ~0.8 M of fast ions: S/m of order 1-10


def test_conductivity_from_fitted_random_walks(electrolyte: tuple[np.ndarray, list[str]]) -> None:
    positions, species = electrolyte
    msds = transport.msd_by_species(positions, species, DT_PS)
    fitted = {k: transport.self_diffusion(v).diffusion_coefficient for k, v in msds.items()}
    counts = {k: species.count(k) for k in fitted}
    sigma = transport.nernst_einstein_conductivity(fitted, counts, {"Li": 1, "P": -1}, 80.0**3, 298.15)
    exact = transport.nernst_einstein_conductivity(D_TRUE, counts, {"Li": 1, "P": -1}, 80.0**3, 298.15)
    assert sigma.value == pytest.approx(exact.value, rel=0.05)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: transport.mean_square_displacement(np.zeros((1, 3, 3)), 1.0), "frames ≥ 2"),
        (lambda: transport.mean_square_displacement(np.zeros((4, 3, 3)), np.array([0, 1, 3, 4.0])), "equally spaced"),
        (lambda: transport.self_diffusion(transport.mean_square_displacement(np.zeros((4, 2, 3)), 1.0),
                                          window=(0.9, 0.5)), "window"),
        (lambda: transport.msd_by_species(np.zeros((4, 2, 3)), ["Li", "Li"], 1.0, select=["P"]), "no atom of species"),
        (lambda: transport.nernst_einstein_conductivity({"Li": 1.0}, {"Li": 1}, {"Li": 1, "P": -1}, 1.0, 300),
         "no diffusion coefficient or count"),
    ],
    ids=["one-frame", "uneven-times", "bad-window", "unknown-species", "missing-ion"],
)
def test_transport_rejects_bad_arguments(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


@requires_shared_samples
@pytest.mark.parametrize("entry", manifest_entries("md", formats=("h5md",)))
def test_msd_on_real_trajectory_shapes_and_units(entry: dict) -> None:
    from battkg.ingest.md import h5md

    parsed = h5md.read(sample_path(entry), store_positions=True)
    positions = next(b for b in parsed.blocks if b.name == "positions").array("positions")
    frames = parsed.blocks[0]
    time = frames.array("time")
    times_ps = time.values * {"fs": 1e-3, "ps": 1.0}[time.unit]
    dims = np.array([q.value for q in parsed.quantities if q.quantity.startswith("Box")])
    species = [k for k, n in parsed.metadata["species_counts"].items() for _ in range(n)]
    msds = transport.msd_by_species(positions.values, species, times_ps, box=dims)
    (name,) = msds
    msd = msds[name]
    assert msd.msd.shape == msd.lag_times.shape == (entry["oracle"]["n_frames"],)
    assert (msd.time_unit, msd.msd_unit, msd.n_particles) == ("ps", "angstrom**2", entry["oracle"]["n_atoms"])
    assert msd.msd[0] == pytest.approx(0, abs=1e-9) and np.all(msd.msd[1:] > 0)
    assert msd.lag_times[-1] == pytest.approx(entry["oracle"]["time_last_ps"] - entry["oracle"]["time_first_ps"])
    fit = transport.self_diffusion(msd)
    assert np.isfinite(fit.diffusion_coefficient) and 0 <= fit.r_squared <= 1
