"""Benchmark: the same ingest and competency-question queries on embedded Oxigraph and on ``oxigraph serve``.

    python bench/backends.py [--n 1000] [--repeat 20]

Both stores are on disk; the server runs on 127.0.0.1 and battkg talks to it
through SPARQL 1.1 Query/Update and the Graph Store Protocol (one PUT per
record).  Blobs go to a local directory in both runs, so the difference is the
graph store path.  Prints records/s, the median commit time per record, the
median latency of each named query, and the ratio remote / embedded.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from battkg.query import run  # noqa: E402
from battkg.store import open_repository  # noqa: E402
from bench._common import machine  # noqa: E402
from bench.ingest_xrd import battkg_run, generate  # noqa: E402
from tests.servers import start_oxigraph  # noqa: E402

QUERIES = [
    ("experiments-by-operator", {"operator": "https://orcid.org/0000-0002-1825-0097"}),
    ("experiments-by-material", {"material": "LNO"}),
    ("experiments-by-technique", {"technique": "xrd"}),
    ("experiments-by-observable", {"observable": "lattice parameters"}),
    ("records", {}),
]


def query_latencies(location: str, repeat: int, blobs: Path) -> dict[str, tuple[float, int]]:
    """Median seconds and row count of each named query."""
    out = {}
    with open_repository(location, blobs=blobs) as repo:
        for name, params in QUERIES:
            run(repo, name, params)  # warm-up
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                rows = len(run(repo, name, params).rows)
                times.append(time.perf_counter() - start)
            out[name] = (statistics.median(times), rows)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--points", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    lines = [machine(), f"N = {args.n} records of {args.points} points; queries: median of {args.repeat} runs"]
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        (tmp_path / "in").mkdir()
        paths = generate(tmp_path / "in", args.n, args.points)
        server, remote = start_oxigraph(tmp_path, tmp_path / "server-db")
        try:
            results = {}
            for label, location in (("embedded", str(tmp_path / "embedded")), ("oxigraph serve", remote)):
                blobs = tmp_path / f"blobs-{label.split()[0]}"
                os.environ["BATTKG_BLOBS"] = str(blobs)  # timed_ingest opens the store by location only
                elapsed, stages = battkg_run(paths, location)  # type: ignore[arg-type]
                commit = 1000 * statistics.median(stages["commit"])
                results[label] = (elapsed, commit, query_latencies(location, args.repeat, blobs))
        finally:
            os.environ.pop("BATTKG_BLOBS", None)
            server.stop()
    (e_time, e_commit, e_q), (r_time, r_commit, r_q) = results["embedded"], results["oxigraph serve"]
    lines.append(f"\ningest          embedded {args.n / e_time:7.1f} records/s   oxigraph serve {args.n / r_time:7.1f}"
                 f" records/s   time ratio {r_time / e_time:.2f}")
    lines.append(f"commit/record   embedded {e_commit:7.2f} ms          oxigraph serve {r_commit:7.2f} ms"
                 f"          ratio {r_commit / e_commit:.2f}")
    lines.append("\nquery (rows)                       embedded ms   oxigraph serve ms   ratio")
    for name, _ in QUERIES:
        (te, ne), (tr, nr) = e_q[name], r_q[name]
        assert ne == nr, f"{name}: {ne} rows embedded, {nr} rows remote"
        lines.append(f"{name:26s} ({ne:5d})  {1000 * te:11.2f}   {1000 * tr:17.2f}   {tr / te:5.2f}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
