"""Benchmark: ingest of one long GCPL cycling file (EC-Lab .mpt and CSV) vs a same-run baseline.

    python bench/ingest_cycling.py [--cycles 1000] [--points-per-cycle 1000] [--repeats 5]

Generates a galvanostatic cycling run (``cycles × points-per-cycle`` rows, ≈10^6 by default) as an
EC-Lab text export (``.mpt``) and as a CSV.  Baseline: ``pandas.read_csv`` of exactly the file
columns battkg's stored arrays come from + ``h5py`` write of them (no checks, no record):

* ``.mpt``: the 6 columns ``time/s``, ``Ewe/V``, ``<I>/mA``, ``Q charge/discharge/mA.h``, ``half cycle``,
  ``Ns`` — battkg's 8 arrays are time, voltage, current (from ``<I>/mA``), charge and discharge capacity
  (both from the signed ``Q charge/discharge/mA.h``), cycle index and half cycle (both from ``half
  cycle``; ``cycle number`` is not used when ``half cycle`` is present) and step index (``Ns``), see
  ``to_parsed`` in ``ingest/cycling/_biologic.py`` (module ``battkg.ingest.cycling._biologic``);
* CSV: the 4 mapped columns (``CSV_COLUMNS``: time, voltage, current, cycle), which are all its columns.

Otherwise the baseline is as before: pandas' defaults (its C parser may use both cores, as battkg's
.mpt parser does since 2026-12-03) and h5py's defaults (contiguous, uncompressed; battkg writes
shuffled, deflated chunks, compressed on a thread pool).  battkg: ``ingest_file`` (checksum, parse,
checks, per-cycle summary, HDF5, record, SHACL, blob + graph commit).  Two settings, each step in its
own child process so the peak memory (``ru_maxrss``) belongs to that step alone:

* cold: a fresh interpreter per step, imports included, into a store an earlier process created (what
  ``battkg ingest`` on the command line pays from a store's second record on; the baseline pays for
  importing pandas and h5py).  Runs before 2026-12-03 19:50 created a new store per cold step (+0.1 s,
  the ontology load); the fixed-cost line below still does;
* warm: modules imported and battkg's caches (ontology, shapes, unit registry) warmed by one small
  ingest first, as in the API server or a batch ingest; the baseline likewise after a small read.

Every measurement is repeated ``--repeats`` times, baseline and battkg alternating, and the minimum
is reported (the machine is shared; the minimum is the least disturbed run).  Also: the fixed cost
of one tiny record, and the per-cycle summary alone.  Goal: battkg ≥ 0.5× baseline speed.
Results replace ``bench/results/ingest_cycling.txt`` (earlier figures are kept as history lines).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

# Children are spawned: keep this module's imports to the standard library and numpy, so a "cold"
# child starts with neither pandas, h5py nor battkg loaded.
RESULTS = Path(__file__).resolve().parent / "results" / "ingest_cycling.txt"
CSV_COLUMNS = {"time": "time_s", "voltage": "voltage_V", "current": "current_A", "cycle_index": "cycle"}
# The .mpt columns battkg's stored arrays come from (ingest/cycling/_biologic.py ``to_parsed``).
MPT_COLUMNS = ["time/s", "Ewe/V", "<I>/mA", "Q charge/discharge/mA.h", "half cycle", "Ns"]


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


def write_files(data: dict[str, np.ndarray], folder: Path, stem: str = "gcpl_long") -> tuple[Path, Path]:
    """The run as an EC-Lab .mpt (3 header lines, tab separated) and as a plain CSV."""
    import pandas as pd

    # Per-half-cycle signed charge, mA·h: cumulative sum restarted at every half cycle.
    dq = data["current_ma"] * 3.6 / 3600
    total = np.cumsum(dq)
    starts = np.r_[0, np.flatnonzero(np.diff(data["half_cycle"])) + 1]
    offset = np.repeat(np.r_[0.0, total[starts[1:] - 1]], np.diff(np.r_[starts, len(dq)]))
    q = total - offset
    mpt = folder / f"{stem}.mpt"
    frame = pd.DataFrame({"mode": 1, "ox/red": (data["current_ma"] > 0).astype(int), "error": 0,
                          "control changes": 0, "Ns changes": 0, "counter inc.": 0, "Ns": data["half_cycle"] % 2,
                          "time/s": data["time"], "Ewe/V": data["voltage"], "<I>/mA": data["current_ma"],
                          "Q charge/discharge/mA.h": q, "half cycle": data["half_cycle"],
                          "cycle number": data["cycle"] - 1})
    with open(mpt, "w", encoding="latin-1") as fh:
        fh.write("EC-Lab ASCII FILE\nNb header lines : 3\n")
    frame.to_csv(mpt, sep="\t", index=False, mode="a", float_format="%.7E", lineterminator="\n")
    csv = folder / f"{stem}.csv"
    pd.DataFrame({"time_s": data["time"], "voltage_V": data["voltage"], "current_A": data["current_ma"] / 1000,
                  "cycle": data["cycle"]}).to_csv(csv, index=False, float_format="%.7E")
    return mpt, csv


def _baseline(path: str, out: str) -> None:
    """pandas.read_csv of the file columns battkg's arrays come from + h5py write of them (no checks,
    no record)."""
    import h5py
    import pandas as pd

    if path.endswith(".mpt"):
        frame = pd.read_csv(path, sep="\t", skiprows=2, usecols=MPT_COLUMNS, encoding="latin-1")
    else:
        frame = pd.read_csv(path, usecols=list(CSV_COLUMNS.values()))
    with h5py.File(out, "w") as h5:
        for name in frame.columns:
            h5.create_dataset(name.replace("/", "_"), data=frame[name].to_numpy())


def _ingest(path: str, store: str, sample: str = "bench-cell", repo: Any = None) -> dict[str, Any]:
    from battkg.ingest.pipeline import ingest_file
    from battkg.ingest.technique import UserMetadata
    from battkg.store import open_repository

    if repo is None:
        with open_repository(store) as opened:
            return _ingest(path, store, sample, opened)
    options = {"columns": CSV_COLUMNS} if path.endswith(".csv") else None
    format_id = "cycling.generic.csv" if path.endswith(".csv") else None
    result = ingest_file(repo, "cycling", Path(path), UserMetadata(sample=sample), format_id=format_id,
                         reader_options=options)
    return {**result.timings, "n_triples": result.n_triples}


def _warm(step: str, path: str, small: str, folder: str) -> tuple[float, Any]:
    """Seconds of one step on ``path`` after the same step on ``small`` (imports + caches warm;
    battkg's repository stays open, as in a server)."""
    if step == "baseline":
        _baseline(small, f"{folder}/warmup.h5")
        start = time.perf_counter()
        _baseline(path, f"{folder}/warm.h5")
        return time.perf_counter() - start, None
    from battkg.store import open_repository

    with open_repository(f"{folder}/store-warm") as repo:
        _ingest(small, "", sample="warm-up", repo=repo)
        start = time.perf_counter()
        timings = _ingest(path, "", repo=repo)
        return time.perf_counter() - start, timings


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
    context = mp.get_context("spawn")
    queue: Any = context.Queue()
    process = context.Process(target=_child, args=(target, args, queue))
    process.start()
    result = queue.get()
    process.join()
    if isinstance(result, BaseException):
        raise result
    return result


def _load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def _history(previous: str) -> list[str]:
    """One line per earlier run of the results file, newest first: date, speed ratios and peak RSS
    per file (+ the history lines the file already had)."""
    import re

    lines: list[str] = []
    run: list[str] = []
    rss: list[str] = []
    date = suffix = None
    for line in previous.splitlines() + ["=== end"]:
        if line.startswith("history"):
            continue
        if line.startswith("  - "):
            lines.append(line)  # history carried over from an earlier results file
        elif line.startswith("==="):
            if date and run:
                lines.append(f"  - {date}: " + "; ".join(run))
            date, run = line.split("—")[0].replace("=== ingest_cycling", "").strip(), []
        elif line[:4] in (".mpt", ".csv"):
            suffix = line[:4]
        elif date and suffix and "peak RSS" in line:
            rss += re.findall(r"peak RSS\s+(\d+) MiB", line)  # baseline's, then battkg's (one or two lines)
            if len(rss) == 2:
                run.append(f"{suffix} peak RSS {rss[1]} MiB (baseline {rss[0]})")
                rss = []
        if date and suffix and "speed battkg / baseline" in line:
            kind = "warm" if line.strip().startswith("warm") else "cold"
            run.append(f"{suffix} {kind} " + re.search(r"speed battkg / baseline: ([\d.]+×)", line).group(1))
    return sorted(set(lines), reverse=True)  # newest first ("  - YYYY-MM-DD HH:MM: ...")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--points-per-cycle", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    machine = (f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
               f"{platform.platform()}")
    lines = [f"=== ingest_cycling {time.strftime('%Y-%m-%d %H:%M')} — {machine}",
             f"{_load()} at start (uptime; the 2 cores are shared with other benchmarks and test runs)",
             (f"generated GCPL run: {args.cycles} cycles × {args.points_per_cycle} points = "
              f"{args.cycles * args.points_per_cycle} rows; min of {args.repeats} alternating runs per figure"),
             (f"baseline reads and writes the file columns battkg's stored arrays come from: .mpt "
              f"{MPT_COLUMNS} (→ battkg's 8 arrays), .csv {list(CSV_COLUMNS.values())} (the mapped ones)")]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        mpt, csv = write_files(generate(args.cycles, args.points_per_cycle), folder)
        small = dict(zip((".mpt", ".csv"), write_files(generate(5, 50), folder, stem="gcpl_small")))
        for path in (mpt, csv):
            cold_base, cold_ingest, warm_base, warm_ingest = [], [], [], []
            for k in range(args.repeats):
                store = str(folder / f"store-cold{path.suffix}{k}")
                in_child(_ingest, str(small[path.suffix]), store)  # the store exists, as for a CLI user
                cold_base.append(in_child(_baseline, str(path), str(folder / f"b{k}.h5")))
                cold_ingest.append(in_child(_ingest, str(path), store))
                warm_base.append(in_child(_warm, "baseline", str(path), str(small[path.suffix]), str(folder)))
                warm_ingest.append(in_child(_warm, "ingest", str(path), str(small[path.suffix]),
                                            str(folder / f"w{k}")))
            t_base, _, mem_base = min(cold_base, key=lambda r: r[0])
            t_ingest, timings, mem_ingest = min(cold_ingest, key=lambda r: r[0])
            w_base = min(r[1][0] for r in warm_base)
            w_ingest, w_timings = min((r[1] for r in warm_ingest), key=lambda r: r[0])
            n_triples = timings.pop("n_triples")
            w_timings.pop("n_triples")
            for stages in (timings, w_timings):  # record id, exists check, staging clean-up
                stages["other"] = stages["total"] - sum(v for k, v in stages.items() if k != "total")
            lines += [f"{path.suffix} ({path.stat().st_size / 1e6:.0f} MB), record of {n_triples} triples:",
                      (f"  cold  baseline {t_base:5.2f} s, peak RSS {mem_base:5.0f} MiB | battkg {t_ingest:5.2f} s, "
                       f"peak RSS {mem_ingest:5.0f} MiB | speed battkg / baseline: {t_base / t_ingest:.2f}× "
                       "(goal ≥ 0.5×)"),
                      "        stages (s): " + ", ".join(f"{k} {v:.3f}" for k, v in timings.items()),
                      (f"  warm  baseline {w_base:5.2f} s | battkg {w_ingest:5.2f} s | speed battkg / baseline: "
                       f"{w_base / w_ingest:.2f}× (goal ≥ 0.5×)"),
                      "        stages (s): " + ", ".join(f"{k} {v:.3f}" for k, v in w_timings.items())]
        tiny = [in_child(_ingest, str(small[".mpt"]), str(folder / f"store-tiny{k}")) for k in range(args.repeats)]
        t_tiny, tiny_timings, _ = min(tiny, key=lambda r: r[0])
        lines.append(f"fixed cost, cold ingest of a 250-row .mpt ({tiny_timings.pop('n_triples')} triples): "
                     f"{t_tiny:.2f} s; stages (s): " + ", ".join(f"{k} {v:.3f}" for k, v in tiny_timings.items()))
        t_summary = min(in_child(_summary, str(mpt))[1] for _ in range(args.repeats))
        lines.append(f"per-cycle summary alone ({args.cycles} cycles): {t_summary:.3f} s")
    lines.append(f"{_load()} at end")
    previous = RESULTS.read_text() if RESULTS.exists() else ""
    history = _history(previous)
    RESULTS.parent.mkdir(exist_ok=True)
    note = ("history (earlier runs: speed battkg / baseline, peak RSS; runs before 2026-11-25 11:46 timed the "
            "battkg child after battkg and h5py were already imported, once, not min of 3; runs before 2026-12-03 "
            "had a .mpt baseline reading only 4 columns — time/s, Ewe/V, <I>/mA, cycle number; runs before 2026-12-03 "
            "19:50 ingested cold into a new store and compressed with lzf on one thread):")
    RESULTS.write_text("\n".join([*lines, "", note, *history]) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
