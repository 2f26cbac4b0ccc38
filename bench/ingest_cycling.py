"""Benchmark: ingest of one long GCPL cycling file (EC-Lab .mpt and CSV) vs a same-run baseline.

    python bench/ingest_cycling.py [--cycles 1000] [--points-per-cycle 1000]

Generates a galvanostatic cycling run (``cycles × points-per-cycle`` rows, ≈10^6 by default) as an
EC-Lab text export (``.mpt``) and as a CSV, then measures, each in a fresh child process so the
peak memory (``ru_maxrss``) belongs to that step alone:

* baseline: ``pandas.read_csv`` of the same columns + ``h5py`` write of them;
* battkg: ``ingest_file`` (parse, per-cycle summary, HDF5, record, SHACL, commit);
* the per-cycle summary alone (``cycle_summary`` on the parsed arrays).

Results are appended to ``bench/results/ingest_cycling.txt``.  Goal: battkg ≥ 0.5× baseline speed.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "ingest_cycling.txt"
CSV_COLUMNS = {"time": "time_s", "voltage": "voltage_V", "current": "current_A", "cycle_index": "cycle"}


def generate(cycles: int, per_cycle: int) -> dict[str, np.ndarray]:
    """A plausible GCPL run: 1 h-ish half cycles at ±1 mA, voltage following the state of charge, mild fade."""
    half = per_cycle // 2
    n = cycles * per_cycle
    cycle = np.repeat(np.arange(1, cycles + 1), per_cycle)
    phase = np.tile(np.r_[np.linspace(0, 1, half), np.linspace(1, 0, per_cycle - half)], cycles)
    charging = np.tile(np.r_[np.ones(half, bool), np.zeros(per_cycle - half, bool)], cycles)
    fade = 1.0 - 0.0003 * (cycle - 1)
    current_ma = np.where(charging, 1.0, -1.0 * fade)
    voltage = 3.0 + 1.2 * phase + np.where(charging, 0.05, -0.05)
    time_s = np.arange(n, dtype=float) * 3.6
    half_cycle = 2 * (cycle - 1) + (~charging)
    return {"time": time_s, "voltage": voltage, "current_ma": current_ma, "cycle": cycle, "half_cycle": half_cycle}


def write_files(data: dict[str, np.ndarray], folder: Path) -> tuple[Path, Path]:
    """The run as an EC-Lab .mpt (3 header lines, tab separated) and as a plain CSV."""
    import pandas as pd

    q = np.zeros_like(data["time"])  # per-half-cycle signed charge, mA·h
    for h in np.unique(data["half_cycle"]):
        mask = data["half_cycle"] == h
        q[mask] = np.cumsum(data["current_ma"][mask] * 3.6 / 3600)
    mpt = folder / "gcpl_long.mpt"
    frame = pd.DataFrame({"mode": 1, "ox/red": (data["current_ma"] > 0).astype(int), "error": 0,
                          "control changes": 0, "Ns changes": 0, "counter inc.": 0, "Ns": data["half_cycle"] % 2,
                          "time/s": data["time"], "Ewe/V": data["voltage"], "<I>/mA": data["current_ma"],
                          "Q charge/discharge/mA.h": q, "half cycle": data["half_cycle"],
                          "cycle number": data["cycle"] - 1})
    with open(mpt, "w", encoding="latin-1") as fh:
        fh.write("EC-Lab ASCII FILE\nNb header lines : 3\n")
    frame.to_csv(mpt, sep="\t", index=False, mode="a", float_format="%.7E", lineterminator="\n")
    csv = folder / "gcpl_long.csv"
    pd.DataFrame({"time_s": data["time"], "voltage_V": data["voltage"], "current_A": data["current_ma"] / 1000,
                  "cycle": data["cycle"]}).to_csv(csv, index=False, float_format="%.7E")
    return mpt, csv


def _baseline(path: str, out: str) -> None:
    import h5py
    import pandas as pd

    if path.endswith(".mpt"):
        frame = pd.read_csv(path, sep="\t", skiprows=2, usecols=["time/s", "Ewe/V", "<I>/mA", "cycle number"],
                            encoding="latin-1")
    else:
        frame = pd.read_csv(path)
    with h5py.File(out, "w") as h5:
        for name in frame.columns:
            h5.create_dataset(name.replace("/", "_"), data=frame[name].to_numpy())


def _ingest(path: str, store: str) -> dict[str, float]:
    from battkg.ingest.pipeline import ingest_file
    from battkg.ingest.technique import UserMetadata
    from battkg.store import open_repository

    options = {"columns": CSV_COLUMNS} if path.endswith(".csv") else None
    format_id = "cycling.generic.csv" if path.endswith(".csv") else None
    with open_repository(store) as repo:
        result = ingest_file(repo, "cycling", Path(path), UserMetadata(sample="bench-cell"), format_id=format_id,
                             reader_options=options)
    return result.timings


def _summary(path: str) -> float:
    from battkg.ingest.cycling.analysis import cycle_summary_from_parsed
    from battkg.readers import detect_reader

    parsed = detect_reader("cycling", Path(path)).read(Path(path))
    start = time.perf_counter()
    cycle_summary_from_parsed(parsed, method="right")
    return time.perf_counter() - start


def _child(target: Callable[..., Any], args: tuple, queue: Any) -> None:
    start = time.perf_counter()
    try:
        value = target(*args)
    except BaseException as exc:  # report to the parent instead of leaving it waiting
        queue.put(RuntimeError(f"{type(exc).__name__}: {exc}"))
        raise
    queue.put((time.perf_counter() - start, value, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def in_child(target: Callable[..., Any], *args: Any) -> tuple[float, Any, float]:
    """(wall seconds, return value, peak RSS MiB) of ``target(*args)`` in a fresh process."""
    queue: Any = mp.get_context("spawn").Queue()
    process = mp.get_context("spawn").Process(target=_child, args=(target, args, queue))
    process.start()
    result = queue.get()
    process.join()
    if isinstance(result, BaseException):
        raise result
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--points-per-cycle", type=int, default=1000)
    args = parser.parse_args()
    lines = [f"\n=== ingest_cycling {time.strftime('%Y-%m-%d %H:%M')} — {machine()}",
             f"generated GCPL run: {args.cycles} cycles × {args.points_per_cycle} points = "
             f"{args.cycles * args.points_per_cycle} rows"]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        mpt, csv = write_files(generate(args.cycles, args.points_per_cycle), folder)
        for path in (mpt, csv):
            t_base, _, mem_base = in_child(_baseline, str(path), str(folder / f"{path.suffix[1:]}.h5"))
            t_ingest, timings, mem_ingest = in_child(_ingest, str(path), str(folder / f"store-{path.suffix[1:]}"))
            lines += [f"{path.suffix} ({path.stat().st_size / 1e6:.0f} MB):",
                      f"  baseline pandas.read_csv + h5py: {t_base:7.2f} s, peak RSS {mem_base:6.0f} MiB",
                      f"  battkg ingest:                   {t_ingest:7.2f} s, peak RSS {mem_ingest:6.0f} MiB "
                      f"(wall incl. imports; pipeline total {timings['total']:.2f} s)",
                      f"  speed battkg / baseline: {t_base / t_ingest:.2f}× (goal ≥ 0.5×); pipeline-only "
                      f"{t_base / timings['total']:.2f}×",
                      "  stages (s): " + ", ".join(f"{k} {v:.3f}" for k, v in timings.items())]
        t_summary = in_child(_summary, str(mpt))[1]
        lines.append(f"per-cycle summary alone ({args.cycles} cycles): {t_summary:.3f} s")
    RESULTS.parent.mkdir(exist_ok=True)
    with open(RESULTS, "a") as fh:
        fh.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
