"""Example data battkg writes itself (for `make run`, the README and tests).

The XRD patterns are simulated, not copied: reflections of layered R-3m
LiNiO2 (a = 2.878 Å, c = 14.19 Å) and of graphite (P6₃/mmc, a = 2.464 Å,
c = 6.711 Å) at Cu Kα1, pseudo-Voigt profiles on a decaying background,
with Poisson counting noise from a fixed seed, written in the text layouts
diffractometer software exports (.xy with comment header, .xye with an
uncertainty column, .csv with a header row).  Each file gets a sidecar
``<name>.meta.json`` with the sample, material, operator and instrument.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CU_KA1 = 1.5406  # Å


@dataclass(frozen=True)
class DemoSample:
    name: str
    material: str
    lattice: tuple[float, float]  # hexagonal a, c in Å
    rule: str  # reflection condition
    fwhm: float  # degrees 2θ
    operator: str
    instrument: str
    layout: str  # xy, xye, csv


DEMO_SAMPLES = (
    DemoSample("LNO-019", "LiNiO2", (2.878, 14.19), "R-3m", 0.08, "https://orcid.org/0000-0002-1825-0097",
               "Rigaku SmartLab", "xy"),
    DemoSample("LNO-020-cycled", "LiNiO2", (2.872, 14.23), "R-3m", 0.14, "https://orcid.org/0000-0002-1825-0097",
               "Rigaku SmartLab", "xye"),
    DemoSample("GR-001", "graphite", (2.464, 6.711), "P63/mmc", 0.12, "https://orcid.org/0000-0001-5109-3700",
               "Bruker D8 Advance", "csv"),
)


def _reflections(a: float, c: float, rule: str, two_theta_max: float, wavelength: float) -> list[tuple[float, float]]:
    """(2θ, relative intensity) for allowed hkl of a hexagonal cell."""
    peaks: dict[float, float] = {}
    for h in range(0, 5):
        for k in range(0, 5):
            for l in range(0, 13):
                if (h, k, l) == (0, 0, 0):
                    continue
                if rule == "R-3m" and (-h + k + l) % 3 != 0:
                    continue
                if rule == "P63/mmc" and h == k == 0 and l % 2:
                    continue
                inv_d2 = 4.0 / 3.0 * (h * h + h * k + k * k) / a**2 + l * l / c**2
                sin_theta = wavelength * np.sqrt(inv_d2) / 2.0
                if sin_theta >= 1:
                    continue
                two_theta = float(np.degrees(2 * np.arcsin(sin_theta)))
                if two_theta > two_theta_max:
                    continue
                # Basal reflections dominate layered materials; a crude, deterministic intensity model.
                weight = (3.0 if h == k == 0 else 1.0) / (1.0 + 0.02 * two_theta) * (1 + (l % 3 == 0))
                key = round(two_theta, 3)
                peaks[key] = peaks.get(key, 0.0) + weight
    return sorted(peaks.items())


def simulate_pattern(sample: DemoSample, *, start: float = 10.0, stop: float = 80.0, step: float = 0.01,
                     seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    two_theta = np.round(np.arange(start, stop + step / 2, step), 4)
    background = 120.0 * np.exp(-two_theta / 40.0) + 30.0
    signal = np.zeros_like(two_theta)
    gamma = sample.fwhm / 2
    for position, weight in _reflections(*sample.lattice, sample.rule, stop, CU_KA1):
        lorentz = gamma**2 / ((two_theta - position) ** 2 + gamma**2)
        gauss = np.exp(-np.log(2) * ((two_theta - position) / gamma) ** 2)
        signal += 4000.0 * weight * (0.5 * lorentz + 0.5 * gauss)
    rng = np.random.default_rng(seed)
    counts = rng.poisson(background + signal).astype(float)
    return two_theta, counts


def write_demo_files(directory: Path, samples: tuple[DemoSample, ...] = DEMO_SAMPLES) -> list[Path]:
    """Write the demo XRD files (+ sidecars) into ``directory/xrd``; returns the data files."""
    out_dir = Path(directory) / "xrd"
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for index, sample in enumerate(samples):
        two_theta, counts = simulate_pattern(sample, seed=7 + index)
        path = out_dir / f"{sample.name}.{sample.layout}"
        if sample.layout == "xy":
            header = (f"# {sample.instrument} export\n# Sample: {sample.name}\n# Anode: Cu\n"
                      f"# Wavelength: {CU_KA1}\n# 2theta (deg)  Intensity (counts)\n")
            body = "".join(f"{x:.4f} {y:.0f}\n" for x, y in zip(two_theta, counts))
        elif sample.layout == "xye":
            header = f"# {sample.name} after 100 cycles\n# Wavelength = {CU_KA1}\n"
            body = "".join(f"{x:.4f} {y:.0f} {np.sqrt(max(y, 1.0)):.3f}\n" for x, y in zip(two_theta, counts))
        else:
            header = "2theta,counts\n"
            body = "".join(f"{x:.4f},{y:.0f}\n" for x, y in zip(two_theta, counts))
        path.write_text(header + body)
        sidecar = {"sample": sample.name, "material": sample.material, "operator": sample.operator,
                   "instrument": sample.instrument}
        if sample.layout == "csv":  # the CSV layout carries no wavelength: the sidecar says it
            sidecar["wavelength"] = CU_KA1
        path.with_name(path.name + ".meta.json").write_text(json.dumps(sidecar, indent=2) + "\n")
        written.append(path)
    return written


def write_operando_series(directory: Path, *, n_patterns: int = 40, n_points: int = 2000, layout: str = "xy",
                          start_time: str = "2026-03-02T09:00:00+00:00", interval_s: float = 60.0,
                          seed: int = 11) -> list[Path]:
    """Write a simulated operando XRD series of LiNiO2 during charge (one file per pattern).

    The c lattice parameter grows by ~1.5 % over the series (Li removal expands the layers), so
    the 003 reflection moves to lower 2θ pattern by pattern, as in a real operando experiment.
    Each file carries its measurement time (ISO 8601) so the series can be ordered and aligned
    with the cycling data.  ``layout`` is ``xy`` (text) or ``xrdml`` (PANalytical XML).
    Also writes ``series.meta.json`` with sample, material, operator, instrument and conditions.
    """
    from datetime import datetime, timedelta

    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = datetime.fromisoformat(start_time)
    step = (80.0 - 10.0) / (n_points - 1)
    paths = []
    for index in range(n_patterns):
        c = 14.19 * (1 + 0.015 * index / max(1, n_patterns - 1))
        sample = DemoSample("LNO-operando-01", "LiNiO2", (2.878, c), "R-3m", 0.1, "", "", layout)
        two_theta, counts = simulate_pattern(sample, start=10.0, stop=80.0 + step / 4, step=step, seed=seed + index)
        two_theta, counts = two_theta[:n_points], counts[:n_points]
        moment = (t0 + timedelta(seconds=interval_s * index)).isoformat()
        path = out_dir / f"operando_{index:05d}.{layout}"
        if layout == "xy":
            header = f"# Sample: LNO-operando-01\n# Wavelength: {CU_KA1}\n# Measurement time = {moment}\n"
            body = "\n".join(f"{x:.4f} {y:.0f}" for x, y in zip(two_theta, counts))
            path.write_text(header + body + "\n")
        elif layout == "xrdml":
            path.write_text(_xrdml_document(two_theta, counts, moment))
        else:
            raise ValueError(f"unknown layout {layout!r}")
        paths.append(path)
    sidecar = {"sample": "LNO-operando-01", "material": "LiNiO2", "operator": "https://orcid.org/0000-0002-1825-0097",
               "instrument": "Rigaku SmartLab", "wavelength": CU_KA1,
               "conditions": {"mode": "operando", "cell_type": "CR2032 coin cell with Kapton window",
                              "temperature": "25 degC"}}
    (out_dir / "series.meta.json").write_text(json.dumps(sidecar, indent=2) + "\n")
    return paths


def _xrdml_document(two_theta: np.ndarray, counts: np.ndarray, moment: str) -> str:
    """A minimal PANalytical XRDML 1.5 document (the elements the xrdml reader and vendor tools use)."""
    counts_text = " ".join(f"{y:.0f}" for y in counts)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<xrdMeasurements xmlns="http://www.xrdml.com/XRDMeasurement/1.5" status="Completed">
  <sample type="To be analyzed"><id>LNO-operando-01</id><name>LNO-operando-01</name></sample>
  <xrdMeasurement measurementType="Scan" status="Completed">
    <usedWavelength intended="K-Alpha 1">
      <kAlpha1 unit="Angstrom">{CU_KA1}</kAlpha1><kAlpha2 unit="Angstrom">1.544426</kAlpha2>
      <kBeta unit="Angstrom">1.39225</kBeta><ratioKAlpha2KAlpha1>0.5</ratioKAlpha2KAlpha1>
    </usedWavelength>
    <incidentBeamPath><xRayTube name="Cu"><anodeMaterial>Cu</anodeMaterial></xRayTube></incidentBeamPath>
    <scan appendNumber="0" mode="Continuous" scanAxis="Gonio" status="Completed">
      <header><startTimeStamp>{moment}</startTimeStamp><endTimeStamp>{moment}</endTimeStamp></header>
      <dataPoints>
        <positions axis="2Theta" unit="deg">
          <startPosition>{two_theta[0]:.5f}</startPosition><endPosition>{two_theta[-1]:.5f}</endPosition>
        </positions>
        <commonCountingTime unit="seconds">0.1</commonCountingTime>
        <counts unit="counts">{counts_text}</counts>
      </dataPoints>
    </scan>
  </xrdMeasurement>
</xrdMeasurements>
"""
