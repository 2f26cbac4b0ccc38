"""Pieces shared by the ingest benchmarks: machine line, same-run baseline, timed ingest loop, report."""

from __future__ import annotations

import os
import platform
import statistics
import time
from pathlib import Path
from typing import Callable

import h5py
import numpy as np

from battkg.ingest.pipeline import ingest_file
from battkg.ingest.technique import UserMetadata
from battkg.store import OxigraphStore, Repository, open_repository


def machine() -> str:
    return (f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{platform.platform()}")


def baseline(paths: list[Path], out: Path, names: tuple[str, str], comments: str = "#") -> float:
    """Seconds to parse every two-column file with numpy.loadtxt and write both columns with h5py."""
    start = time.perf_counter()
    for i, path in enumerate(paths):
        data = np.loadtxt(path, comments=comments)
        with h5py.File(out / f"b{i}.h5", "w") as h5:
            h5.create_dataset(names[0], data=data[:, 0])
            h5.create_dataset(names[1], data=data[:, 1])
    return time.perf_counter() - start


def timed_ingest(jobs: list[tuple[str, Path, UserMetadata]], store: Path, *,
                 access_views: bool = True) -> tuple[float, dict[str, list[float]]]:
    """Seconds to ingest every (technique, path, metadata) job, and each record's stage timings.

    The first job is ingested once more, untimed, under another sample name to warm the caches
    (ontology, shapes, context), as a long-running service would have them.  ``access_views=False``
    opens the store without its per-access-level read replicas, to measure what they cost a write.
    """
    if access_views:
        repo = open_repository(store)
    else:
        from battkg.fsspec_blobs import open_blob_store

        store.mkdir(parents=True, exist_ok=True)
        repo = Repository(OxigraphStore(store / "graph", views_path=None), open_blob_store(store, store), str(store))
    technique, path, meta = jobs[0]
    ingest_file(repo, technique, path, UserMetadata(**{**meta.__dict__, "sample": "warm-up"}))
    stages: dict[str, list[float]] = {}
    start = time.perf_counter()
    for technique, path, meta in jobs:
        result = ingest_file(repo, technique, path, meta)
        for key, value in result.timings.items():
            stages.setdefault(key, []).append(value)
    elapsed = time.perf_counter() - start
    repo.close()
    return elapsed, stages


def report(title: str, n: int, t_base: float, t_battkg: float, stages: dict[str, list[float]],
           emit: Callable[[str], None] = print) -> None:
    """Print records/s, files/s of the baseline, their ratio and the median per-record stage times."""
    ms = {k: 1000 * statistics.median(v) for k, v in stages.items()}
    overhead = ms["jsonld_to_rdf"] + ms["shacl"] + ms["commit"]
    emit(f"\n{title}")
    emit(f"  baseline (numpy.loadtxt + h5py): {n / t_base:8.1f} files/s ({1000 * t_base / n:.2f} ms/file)")
    emit(f"  battkg ingest:                   {n / t_battkg:8.1f} records/s ({1000 * t_battkg / n:.2f} ms/record)")
    emit(f"  ratio battkg time / baseline time: {t_battkg / t_base:.2f}")
    emit("  per record (median, ms): " + ", ".join(f"{k} {v:.2f}" for k, v in ms.items()))
    emit(f"  graph + validation + commit overhead: {overhead:.2f} ms/record (target < 20 ms)")
