"""Transport from MD positions: MSD, self-diffusion (Einstein) and Nernst–Einstein conductivity.

Pure numpy (pint only for the unit bookkeeping of σ); works on the
``positions`` array a reader returns with ``store_positions=True``
(frames × atoms × 3, angstrom) and frame times in ps.

Unwrapping
    MSD needs unwrapped coordinates.  When ``box`` is given, frame-to-frame
    displacements are mapped to their minimum image in the (possibly
    triclinic) cell and summed: valid when no atom moves more than half a
    box length between two stored frames, which holds for any sensible output
    interval.  Pass unwrapped positions (LAMMPS ``xu``/image flags, which
    :mod:`battkg.ingest.md.lammps_dump` applies) and ``box=None`` to skip it.

MSD
    Averaged over every time origin and over the atoms of a species, with the
    FFT algorithm (Calandrini et al., *Collection SFN* 12, 201 (2011); the
    method of MDAnalysis ``EinsteinMSD(fft=True)``): O(F log F) per atom.
    Frames must be equally spaced in time.

Diffusion
    D = slope / (2 d) of a least-squares line through MSD(τ) over a fit window
    of lag times (default the middle 60 %: fractions 0.2–0.8 of the largest
    lag, avoiding the ballistic start and the noisy, few-origin tail).
    The window, slope, intercept and R² are reported.

Conductivity
    Nernst–Einstein (no cross correlations): σ = e² / (V k_B T) Σ_i N_i z_i² D_i,
    for named ionic species with charges, e.g. ``{"Li": +1, "P": -1}``:
    each ion is tracked by one atom, so a PF6⁻ anion is represented by its P
    atom (the F atoms are not counted as ions) and N_P is the number of P
    atoms.  The result is in S/m.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from battkg.readers import ScalarQuantity


@dataclass
class MSDResult:
    """Mean-square displacement of one species versus lag time."""

    species: str
    lag_times: np.ndarray  # ps
    msd: np.ndarray  # angstrom**2
    n_particles: int
    dimensions: int = 3
    time_unit: str = "ps"
    msd_unit: str = "angstrom**2"


@dataclass
class DiffusionResult:
    """Einstein-relation fit of an MSD curve."""

    species: str
    diffusion_coefficient: float  # angstrom**2/ps
    slope: float  # angstrom**2/ps
    intercept: float  # angstrom**2
    r_squared: float
    fit_start: float  # ps
    fit_end: float  # ps
    n_points: int
    dimensions: int
    n_particles: int

    def quantity(self) -> ScalarQuantity:
        """D as a ScalarQuantity in m²/s (1 Å²/ps = 1e-8 m²/s)."""
        return ScalarQuantity("DiffusionCoefficient", self.diffusion_coefficient * 1e-8, "m**2/s",
                              self.species)


def unwrap(positions: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Unwrapped trajectory from wrapped positions and the box (minimum image of each frame step).

    ``box``: a 3×3 cell (rows a, b, c), one per frame as (frames, 3, 3), or
    ``[a, b, c, α, β, γ]`` (6,) / (frames, 6) in angstrom and degrees.
    """
    from battkg.ingest.md._common import dimensions_to_cell

    pos = np.asarray(positions, dtype=np.float64)
    cells = np.asarray(box, dtype=np.float64)
    if cells.shape[-1] == 6:
        cells = np.array([dimensions_to_cell(b) for b in cells.reshape(-1, 6)])
    cells = cells.reshape(-1, 3, 3)
    if cells.shape[0] == 1:
        cells = np.broadcast_to(cells, (pos.shape[0], 3, 3))
    steps = np.diff(pos, axis=0)
    for k in range(steps.shape[0]):
        cell = cells[k + 1]
        frac = steps[k] @ np.linalg.inv(cell)
        steps[k] = (frac - np.round(frac)) @ cell  # minimum image of the displacement
    np.cumsum(steps, axis=0, out=steps)  # in place: the unwrapped trajectory costs one extra copy, not two
    out = np.empty_like(pos)
    out[0] = pos[0]
    np.add(pos[0], steps, out=out[1:])
    return out


PARTICLE_CHUNK = 256  # atoms per FFT batch: work arrays of 2·frames × 256 × 3 complex, not × every atom


def _msd_fft(x: np.ndarray) -> np.ndarray:
    """All-origin MSD of trajectories ``x`` (frames × particles × d), averaged over particles.

    Particles are processed in batches of :data:`PARTICLE_CHUNK` (in float64, whatever the input
    dtype), so the FFT work arrays stay bounded for any number of atoms."""
    total = np.zeros(x.shape[0])
    for first in range(0, x.shape[1], PARTICLE_CHUNK):
        chunk = np.asarray(x[:, first:first + PARTICLE_CHUNK], dtype=np.float64)
        total += _msd_fft_chunk(chunk) * chunk.shape[1]
    return total / x.shape[1]


def _msd_fft_chunk(x: np.ndarray) -> np.ndarray:
    """:func:`_msd_fft` of one batch of particles."""
    n = x.shape[0]
    # S2: autocorrelation Σ_t r(t)·r(t+m) / (n-m) via zero-padded FFT.
    f = np.fft.rfft(x, n=2 * n, axis=0)
    acf = np.fft.irfft(f * f.conjugate(), axis=0)[:n].sum(axis=2)  # frames × particles
    s2 = acf / (n - np.arange(n))[:, None]
    # S1 by the recursion of Calandrini et al.
    d = np.square(x).sum(axis=2)  # frames × particles
    d = np.vstack([d, np.zeros((1, d.shape[1]))])
    q = 2 * d[:-1].sum(axis=0)
    s1 = np.empty((n, x.shape[1]))
    for m in range(n):
        q = q - d[m - 1] - d[n - m]
        s1[m] = q / (n - m)
    msd = (s1 - 2 * s2).mean(axis=1)
    msd[0] = 0.0  # exact by definition; the FFT leaves rounding noise of order 1e-14
    return msd


def mean_square_displacement(positions: np.ndarray, times: np.ndarray | float, *, box: np.ndarray | None = None,
                             dimensions: int = 3, species: str = "all") -> MSDResult:
    """MSD(τ) of all particles in ``positions`` (frames × particles × 3, angstrom).

    ``times``: frame times in ps (equally spaced) or the spacing itself.
    ``dimensions`` 1–3 uses the first d Cartesian components (e.g. 2 for a
    film in the xy plane).
    """
    pos = np.asarray(positions, dtype=np.float64)
    if pos.ndim != 3 or pos.shape[2] != 3 or pos.shape[0] < 2:
        raise ValueError(f"positions must be (frames ≥ 2, particles, 3), got {pos.shape}")
    if not 1 <= dimensions <= 3:
        raise ValueError(f"dimensions must be 1, 2 or 3, got {dimensions}")
    n_frames = pos.shape[0]
    if np.ndim(times) == 0:
        dt = float(times)  # type: ignore[arg-type]
    else:
        t = np.asarray(times, dtype=np.float64)
        if t.shape != (n_frames,):
            raise ValueError(f"times has {t.size} entries for {n_frames} frames")
        steps = np.diff(t)
        if not np.allclose(steps, steps[0], rtol=1e-6, atol=0) or steps[0] <= 0:
            raise ValueError("frames must be equally spaced in time for an all-origin MSD")
        dt = float(steps[0])
    if box is not None:
        pos = unwrap(pos, box)
    msd = _msd_fft(pos[:, :, :dimensions])
    return MSDResult(species=species, lag_times=np.arange(n_frames) * dt, msd=msd,
                     n_particles=pos.shape[1], dimensions=dimensions)


def msd_by_species(positions: np.ndarray, species: Sequence[str], times: np.ndarray | float, *,
                   box: np.ndarray | None = None, dimensions: int = 3,
                   select: Sequence[str] | None = None) -> dict[str, MSDResult]:
    """MSD per species label (``species[i]`` labels atom i), optionally only ``select``."""
    labels = np.asarray([str(s) for s in species])
    pos = np.asarray(positions)  # float32 or float64: each species is unwrapped in float64 on its own
    if labels.shape[0] != pos.shape[1]:
        raise ValueError(f"{labels.shape[0]} species labels for {pos.shape[1]} atoms")
    wanted = list(select) if select is not None else list(dict.fromkeys(labels.tolist()))
    out: dict[str, MSDResult] = {}
    for name in wanted:
        mask = labels == name
        if not mask.any():
            raise ValueError(f"no atom of species {name!r}; species present: {sorted(set(labels.tolist()))}")
        out[name] = mean_square_displacement(pos[:, mask], times, box=box, dimensions=dimensions, species=name)
    return out


def self_diffusion(msd: MSDResult, *, window: tuple[float, float] = (0.2, 0.8)) -> DiffusionResult:
    """Einstein fit D = slope / (2 d) over a window of lag-time fractions (default middle 60 %)."""
    lo, hi = window
    if not 0 <= lo < hi <= 1:
        raise ValueError(f"window must satisfy 0 ≤ start < end ≤ 1, got {window}")
    tau_max = float(msd.lag_times[-1])
    mask = (msd.lag_times >= lo * tau_max) & (msd.lag_times <= hi * tau_max)
    if mask.sum() < 2:
        raise ValueError(f"fit window {window} holds {int(mask.sum())} lag time(s); need at least 2")
    t, y = msd.lag_times[mask], msd.msd[mask]
    slope, intercept = np.polyfit(t, y, 1)
    residual = y - (slope * t + intercept)
    total = np.square(y - y.mean()).sum()
    r2 = 1.0 - float(np.square(residual).sum() / total) if total > 0 else 0.0
    return DiffusionResult(species=msd.species, diffusion_coefficient=float(slope) / (2 * msd.dimensions),
                           slope=float(slope), intercept=float(intercept), r_squared=r2,
                           fit_start=float(t[0]), fit_end=float(t[-1]), n_points=int(mask.sum()),
                           dimensions=msd.dimensions, n_particles=msd.n_particles)


def nernst_einstein_conductivity(diffusion: Mapping[str, float], counts: Mapping[str, int],
                                 charges: Mapping[str, float], volume: float, temperature: float) -> ScalarQuantity:
    """σ = e²/(V k_B T) Σ N_i z_i² D_i in S/m.

    ``diffusion``: D per ion label in Å²/ps (as :class:`DiffusionResult`
    gives); ``counts``: number of ions of each label (the tracking atom's
    count, e.g. P for PF6⁻); ``charges``: z_i in units of e; ``volume`` in
    Å³; ``temperature`` in K.  Every label of ``charges`` must have a D and a
    count.
    """
    from battkg.units import registry

    ureg = registry()  # the project's one registry: quantities from two registries cannot be combined
    missing = [ion for ion in charges if ion not in diffusion or ion not in counts]
    if missing:
        raise ValueError(f"no diffusion coefficient or count for ion(s) {missing}")
    if volume <= 0 or temperature <= 0:
        raise ValueError("volume and temperature must be positive")
    total = sum(counts[ion] * charges[ion] ** 2 * diffusion[ion] for ion in charges) * ureg("angstrom**2/ps")
    e = ureg.elementary_charge
    sigma = e**2 * total / (volume * ureg.angstrom**3 * ureg.boltzmann_constant * temperature * ureg.kelvin)
    return ScalarQuantity("IonicConductivity", float(sigma.to("S/m").magnitude), "S/m", "Nernst-Einstein")
