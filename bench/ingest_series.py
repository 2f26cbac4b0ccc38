"""Benchmark: operando XRD series → one record, vs a numpy/lxml + h5py baseline, in one run.

    python bench/ingest_series.py [--patterns 2000] [--points 5000] [--layouts xy xrdml]

For each layout, generates a simulated operando series (battkg.demo.write_operando_series),
then in separate child processes (so peak memory is each variant's own):

* baseline: parse every file with numpy (``np.loadtxt`` for xy) or lxml + ``np.fromstring``
  (xrdml) and append the rows to one resizable, chunked HDF5 dataset with h5py — the
  unavoidable cost of reading the files and writing the 2-D array once;
* battkg: ``ingest_series`` into a fresh on-disk store (parse, checks, HDF5, tar archive of
  the raw files, checksums, JSON-LD, SHACL, commit).

Prints patterns/s, the time ratio (goal: battkg at most 2x the baseline's time) and peak RSS.
A second, smaller series shows whether peak memory grows with the number of patterns.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import h5py  # noqa: E402
import numpy as np  # noqa: E402

from bench._common import machine  # noqa: E402


def _baseline(paths: list[Path], layout: str, out: Path) -> None:
    from lxml import etree

    with h5py.File(out, "w") as h5:
        dataset = None
        for i, path in enumerate(paths):
            if layout == "xy":
                row = np.loadtxt(path, comments="#")[:, 1]
            else:
                root = etree.parse(str(path)).getroot()
                text = root.find(".//{*}counts").text
                row = np.fromstring(text, sep=" ")
            if dataset is None:
                dataset = h5.create_dataset("intensity", shape=(0, row.size), maxshape=(None, row.size),
                                            chunks=(max(1, (1 << 20) // (8 * row.size)), row.size),
                                            compression="lzf", dtype="f8")
            dataset.resize(i + 1, axis=0)
            dataset[i] = row


def _battkg(paths: list[Path], layout: str, store: Path) -> None:
    from battkg.ingest.pipeline import user_metadata
    from battkg.ingest.series import ingest_series
    from battkg.store import open_repository

    with open_repository(store) as repo:
        user = user_metadata("xrd", paths[0].parent / "series", {})
        ingest_series(repo, "xrd", paths, user)


def _child(kind: str, paths: list[Path], layout: str, target: Path, queue: "mp.Queue[tuple[float, int]]") -> None:
    # Imports are process start-up, not ingest: load both variants' modules before the clock starts.
    import lxml.etree  # noqa: F401

    import battkg.ingest.series  # noqa: F401
    import battkg.validation  # noqa: F401
    import pyshacl  # noqa: F401

    start = time.perf_counter()
    (_baseline if kind == "baseline" else _battkg)(paths, layout, target)
    elapsed = time.perf_counter() - start
    queue.put((elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))  # KiB on Linux


def measure(kind: str, paths: list[Path], layout: str, target: Path) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one variant in a fresh process."""
    queue: mp.Queue = mp.get_context("spawn").Queue()
    process = mp.get_context("spawn").Process(target=_child, args=(kind, paths, layout, target, queue))
    process.start()
    elapsed, rss_kib = queue.get()
    process.join()
    return elapsed, rss_kib / 1024


def main() -> None:
    from battkg.demo import write_operando_series
    from battkg.ingest.series import expand_series

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patterns", type=int, default=2000)
    parser.add_argument("--points", type=int, default=5000)
    parser.add_argument("--layouts", nargs="+", default=["xy", "xrdml"])
    args = parser.parse_args()
    print(machine())
    for layout in args.layouts:
        for n in (args.patterns // 4, args.patterns):
            with tempfile.TemporaryDirectory() as tmp:
                run = Path(tmp) / "run"
                t = time.perf_counter()
                write_operando_series(run, n_patterns=n, n_points=args.points, layout=layout)
                generated = time.perf_counter() - t
                paths = expand_series(run)
                megabytes = sum(p.stat().st_size for p in paths) / 2**20
                t_base, rss_base = measure("baseline", paths, layout, Path(tmp) / "baseline.h5")
                t_battkg, rss_battkg = measure("battkg", paths, layout, Path(tmp) / "store")
                array_mib = n * args.points * 8 / 2**20
                print(f"\n{layout}: {n} patterns x {args.points} points ({megabytes:.0f} MiB of files, "
                      f"2-D array {array_mib:.0f} MiB as float64; generated in {generated:.0f} s)")
                print(f"  baseline (numpy/lxml + h5py): {n / t_base:8.1f} patterns/s  ({t_base:6.1f} s), "
                      f"peak RSS {rss_base:6.0f} MiB")
                print(f"  battkg ingest --series:       {n / t_battkg:8.1f} patterns/s  ({t_battkg:6.1f} s), "
                      f"peak RSS {rss_battkg:6.0f} MiB")
                print(f"  ratio battkg time / baseline time: {t_battkg / t_base:.2f} (goal <= 2.0)")


if __name__ == "__main__":
    main()
