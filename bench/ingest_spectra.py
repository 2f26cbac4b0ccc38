"""Benchmark (b): ingest 1 000 small spectra files (Raman text + FTIR JCAMP-DX) vs a numpy + h5py baseline.

    python bench/ingest_spectra.py [--n 1000] [--points 1024] [--output bench/results/ingest_spectra.txt]

Half the files are two-column Raman text (LabSpec-like header with the laser
wavelength), half JCAMP-DX 5.01 FTIR absorbance spectra in (XY..XY) form, all
written by this script.  Prints records/s for battkg, files/s for the same-run
baseline (parse with numpy.loadtxt, write both arrays with h5py), their ratio,
and the median per-record time in JSON-LD→RDF, SHACL and the store commit.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from battkg.ingest.technique import UserMetadata  # noqa: E402
from bench._common import baseline, machine, report, timed_ingest  # noqa: E402


def write_raman(path: Path, points: int, rng: np.random.Generator, shift: float) -> None:
    raman_shift = np.linspace(100, 1800, points)
    counts = rng.poisson(50 + 900 * np.exp(-((raman_shift - 520.7 - shift) / 4.0) ** 2))
    header = "Laser=\t532nm\nAcq. time (s)=\t10\nAccumulations=\t2\n"
    np.savetxt(path, np.column_stack([raman_shift, counts]), fmt=["%.4f", "%d"], delimiter="\t",
               header=header.rstrip("\n"), comments="#")


def write_jcamp(path: Path, points: int, rng: np.random.Generator, shift: float) -> None:
    wavenumber = np.linspace(4000, 650, points)
    absorbance = 0.02 + 0.8 * np.exp(-((wavenumber - 1740 - shift) / 12) ** 2) + rng.normal(0, 1e-3, points)
    lines = ["##TITLE=bench electrolyte", "##JCAMP-DX=5.01", "##DATA TYPE=INFRARED SPECTRUM",
             "##XUNITS=1/CM", "##YUNITS=ABSORBANCE", "##RESOLUTION=4", f"##NPOINTS={points}",
             f"##FIRSTX={wavenumber[0]:.4f}", f"##LASTX={wavenumber[-1]:.4f}", "##XYPOINTS=(XY..XY)"]
    lines += [f"{x:.4f} {y:.6f}" for x, y in zip(wavenumber, absorbance)]
    lines.append("##END=")
    path.write_text("\n".join(lines) + "\n")


def generate(directory: Path, n: int, points: int) -> tuple[list[Path], list[Path]]:
    rng = np.random.default_rng(1)
    raman, ftir = [], []
    for i in range(n):
        if i % 2 == 0:
            path = directory / f"raman_{i:05d}.txt"
            write_raman(path, points, rng, (i % 11) * 0.1)
            raman.append(path)
        else:
            path = directory / f"ftir_{i:05d}.jdx"
            write_jcamp(path, points, rng, (i % 13) * 0.2)
            ftir.append(path)
    return raman, ftir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--points", type=int, default=1024)
    parser.add_argument("--output", type=Path, default=None, help="also write the report to this file")
    args = parser.parse_args()
    lines: list[str] = []

    def emit(text: str) -> None:
        print(text)
        lines.append(text)

    emit(machine())
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        (tmp_path / "in").mkdir()
        (tmp_path / "base").mkdir()
        raman, ftir = generate(tmp_path / "in", args.n, args.points)
        t_base = (baseline(raman, tmp_path / "base", ("raman_shift", "intensity"))
                  + baseline(ftir, tmp_path / "base", ("wavenumber", "absorbance"), comments="##"))
        jobs = [("raman", p, UserMetadata(sample=f"R-{i}", material="LiNiO2", instrument="bench Raman"))
                for i, p in enumerate(raman)]
        jobs += [("ftir", p, UserMetadata(sample=f"F-{i}", instrument="bench FTIR")) for i, p in enumerate(ftir)]
        t_battkg, stages = timed_ingest(jobs, tmp_path / "store")
        report(f"{args.n} files ({len(raman)} Raman text, {len(ftir)} FTIR JCAMP-DX) x {args.points} points",
               args.n, t_base, t_battkg, stages, emit)
    if args.output:
        args.output.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
