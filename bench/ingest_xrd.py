"""Benchmark: ingest N generated XRD patterns vs a numpy + h5py baseline, in one run.

    python bench/ingest_xrd.py [--n 1000] [--points 5000]

Prints records/s for battkg, the same-run baseline (parse with numpy, write the
arrays with h5py: the unavoidable cost), their ratio, and the per-record time
battkg spends in JSON-LD→RDF, SHACL validation and the store commit, for two
pattern sizes to show the overhead does not grow with the number of points.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from battkg.ingest.technique import UserMetadata  # noqa: E402
from bench._common import baseline, machine, report, timed_ingest  # noqa: E402


def generate(directory: Path, n: int, points: int) -> list[Path]:
    rng = np.random.default_rng(1)
    two_theta = np.linspace(5, 90, points)
    paths = []
    for i in range(n):
        counts = rng.poisson(200 + 3000 * np.exp(-((two_theta - 18.7 - (i % 7) * 0.01) / 0.08) ** 2))
        path = directory / f"pattern_{i:05d}.xy"
        np.savetxt(path, np.column_stack([two_theta, counts]), fmt=["%.5f", "%d"], header="Wavelength = 1.5406")
        paths.append(path)
    return paths


def battkg_run(paths: list[Path], store: Path, access_views: bool = True) -> tuple[float, dict[str, list[float]]]:
    jobs = [("xrd", path, UserMetadata(sample=f"S-{i}", material="LiNiO2", instrument="bench diffractometer",
                                       operator="https://orcid.org/0000-0002-1825-0097"))
            for i, path in enumerate(paths)]
    return timed_ingest(jobs, store, access_views=access_views)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--points", type=int, nargs="+", default=[500, 5000])
    args = parser.parse_args()
    print(machine())
    for points in args.points:
        with tempfile.TemporaryDirectory() as tmp:
            tmp_path = Path(tmp)
            (tmp_path / "in").mkdir()
            (tmp_path / "base").mkdir()
            paths = generate(tmp_path / "in", args.n, points)
            t_base = baseline(paths, tmp_path / "base", ("two_theta", "intensity"))
            t_battkg, stages = battkg_run(paths, tmp_path / "store")
            report(f"{args.n} files x {points} points", args.n, t_base, t_battkg, stages)
            # The same ingest into a store without access views: what keeping them in step costs a write.
            t_plain, plain = battkg_run(paths, tmp_path / "store-without-views", access_views=False)
            with_views, without = (1000 * statistics.median(s["commit"]) for s in (stages, plain))
            print(f"  without access views: {args.n / t_plain:.1f} records/s; commit stage (median) "
                  f"{without:.2f} ms vs {with_views:.2f} ms with them (+{with_views - without:.2f} ms/record)")


if __name__ == "__main__":
    main()
