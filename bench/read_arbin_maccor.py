"""Benchmark: the new cycling readers on the shared samples vs a same-run baseline.

    python bench/read_arbin_maccor.py [--repeat 3]

* Arbin ``.res``: battkg's reader (access-parser, pure Python) vs ``mdb-export`` (mdbtools, C) +
  ``pandas.read_csv`` of the same Channel_Normal_Table — when mdb-export is installed;
* Arbin SQL ``.h5``: battkg's reader vs ``pandas.HDFStore.select('data_df')``;
* Maccor ``.txt``: battkg's reader vs ``pandas.read_csv`` of the table below the header.

Best of ``--repeat`` runs each; the samples are small (10^3–10^4 rows), so the figures are
per-file costs and rows/s, not a large-file benchmark.  Results are appended to
``bench/results/read_arbin_maccor.txt``.
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples" / "cycling"
RESULTS = Path(__file__).resolve().parent / "results" / "read_arbin_maccor.txt"


def best(function: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    import pandas as pd

    from battkg.readers import detect_reader

    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    res = SAMPLES / "cellpy_20160805_test001_45_cc_01.res"
    h5 = SAMPLES / "cellpy_20200624_test001_cc_01.h5"
    maccor = SAMPLES / "cellpy_maccor_002.txt"
    cases: list[tuple[str, Path, Callable[[], object] | None]] = [
        (".res (access-parser) vs mdb-export + pandas", res,
         (lambda: pd.read_csv(io.StringIO(subprocess.run(["mdb-export", str(res), "Channel_Normal_Table"],
                                                         capture_output=True, text=True, check=True).stdout)))
         if shutil.which("mdb-export") else None),
        ("SQL .h5 vs pandas.HDFStore", h5, lambda: pd.read_hdf(h5, "data_df")),
        ("Maccor .txt vs pandas.read_csv", maccor,
         lambda: pd.read_csv(maccor, sep="\t", skiprows=13, encoding="latin-1", index_col=False)),
    ]
    lines = [f"# {time.strftime('%Y-%m-%d %H:%M:%S')}  {machine()}"]
    for label, path, base in cases:
        reader = detect_reader("cycling", path)
        reader.read(path)  # warm imports
        ours = best(lambda reader=reader, path=path: reader.read(path), args.repeat)
        rows = reader.read(path).n_points
        text = f"{label}: {rows} rows; battkg {ours:.3f} s ({rows / ours:,.0f} rows/s)"
        if base is not None:
            baseline = best(base, args.repeat)
            text += f"; baseline {baseline:.3f} s; speed ratio battkg/baseline {baseline / ours:.2f}x"
        else:
            text += "; baseline not run (mdb-export not installed)"
        lines.append(text)
    report = "\n".join(lines)
    print(report)
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open("a") as handle:
        handle.write(report + "\n")


if __name__ == "__main__":
    main()
