"""FINALES import and valid-results query at scale, vs a same-run pandas baseline.

Generates N requests + N results modelled on the reference conductivity examples (F2Opt-style
requests; ASAB two_electrode results with 1-3 values, formulation_info, chemicals_info and the
measuring temperature; aiida-finales molecular_dynamics results, some with a density block;
ratings 0-5, some deleted, some success false), imports them with the registered conductivity
capabilities (read in place from ../shared/reference/finales; their schemas give the value
units) into a fresh store and times `valid-results`; the baseline loads the same JSON with
pandas and applies F2Opt's filter directly.  Run it under the shared benchmark lock:

    flock /tmp/bench.lock .venv/bin/python bench/finales.py --n 10000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pandas as pd

from battkg.mappers.finales.importer import import_paths
from battkg.query import frame
from battkg.store import open_repository

CHEM = {"LiPF6": ("[Li+].F[P-](F)(F)(F)(F)F", "AXPLOJNSKRXQPA-UHFFFAOYSA-N"),
        "EC": ("C1COC(=O)O1", "KMTRUDSVKNLOMY-UHFFFAOYSA-N"), "EMC": ("CCOC(=O)OC", "JBTWLSYIZRCDFO-UHFFFAOYSA-N")}
CAPABILITIES = Path(__file__).resolve().parents[2] / "shared" / "reference" / "finales" / "serialized_quantities"
OPTIMISER = "9a1f3c4e-0c1d-4b6e-9f2a-5d7e8b9c0a11"
ASAB, MD = "f8217935-8154-400e-a0b9-32427a542d22", "a1adf7db-8ae7-44be-8dfd-06274b765cc7"


def formulation(rng: random.Random) -> list[dict]:
    salt = round(rng.uniform(0.02, 0.12), 4)
    ec = round(rng.uniform(0.2, 0.6) * (1 - salt), 4)
    parts = {"LiPF6": salt, "EC": ec, "EMC": round(1 - salt - ec, 4)}
    return [{"chemical": {"SMILES": CHEM[k][0], "InChIKey": CHEM[k][1]}, "fraction": v, "fraction_type": "molPerMol"}
            for k, v in parts.items()]


def generate(n: int, seed: int = 1) -> tuple[list[dict], list[dict]]:
    rng = random.Random(seed)
    requests, results = [], []
    for i in range(n):
        request_uuid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        method = "two_electrode" if i % 4 else "molecular_dynamics"
        form = formulation(rng) if i % 10 else formulation(random.Random(42))  # some repeats: joins
        requests.append({"uuid": request_uuid, "ctime": f"2023-11-{1 + i % 28:02d}T10:00:{i % 60:02d}.000001",
                         "status": "resolved", "request": {"quantity": "conductivity", "methods": [method],
                         "parameters": {method: {"formulation": form}}, "tenant_uuid": OPTIMISER}})
        values = [round(rng.uniform(0.2, 1.2), 4) for _ in range(rng.choice((1, 2, 3)))]
        run_info: dict = {"formulation": form, "internal_reference": f"{request_uuid}_run-{i}"}
        data: dict = {"run_info": run_info,
                      "conductivity": {"values": values, "temperature": round(rng.uniform(297.5, 299.5), 2),
                                       "meta": {"success": rng.random() > 0.05, "rating": rng.randint(0, 5)}}}
        if method == "two_electrode":  # ASAB: the electrolyte sample it measured, and the chemicals used
            run_info["formulation_info"] = {"name": f"formulation_{i}", "uuid": f"{request_uuid}_sample_{i}",
                                            "preparation_date": "24.11.2023", "batch": f"11-2023-{i // 50:03d}",
                                            "location": {"address": "KIT, HIU, Ulm", "detail_1": "ASAB",
                                                         "detail_2": f"vial_{i % 20}"}}
            run_info["chemicals_info"] = {CHEM[k][1]: {"name": k, "molar_mass": [m, 0.01], "density": [d, 0.01],
                                                       "batch": f"Lot-{k}-2023", "manufacturer": "manufacturer_A"}
                                          for k, m, d in (("LiPF6", 151.9, 2.84), ("EC", 88.06, 1.32),
                                                          ("EMC", 104.1, 1.01))}
        elif i % 8 == 0:  # aiida-finales MD: some runs also report the density
            data["density"] = {"values": [round(rng.uniform(1.1, 1.3), 4)], "temperature": 298.15,
                               "meta": {"success": True, "rating": 3}}
        results.append({"uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                        "ctime": f"2023-11-{1 + i % 28:02d}T11:00:{i % 60:02d}",
                        "status": rng.choices(["original", "amended", "deleted"], [85, 10, 5])[0],
                        "result": {"data": data,
                                   "quantity": "conductivity", "method": [method],
                                   "parameters": {method: {"formulation": form, "temperature": 298.15}},
                                   "tenant_uuid": ASAB if method == "two_electrode" else MD,
                                   "request_uuid": request_uuid}})
    return requests, results


def baseline(path: Path) -> pd.DataFrame:
    df = pd.json_normalize(json.loads(path.read_text()))
    ok = (df["status"] != "deleted") & (df["result.data.conductivity.meta.success"] == True)  # noqa: E712
    ok &= df["result.data.conductivity.meta.rating"] >= 3
    df = df[ok]
    return df.assign(value=df["result.data.conductivity.values"].map(lambda v: sum(v) / len(v)))


def load_average() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10000)
    args = parser.parse_args()
    if not CAPABILITIES.is_dir():
        sys.exit(f"{CAPABILITIES} is missing: the capability schemas give the values' units")
    before = load_average()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        requests, results = generate(args.n)
        (root / "in").mkdir()
        capabilities = [json.loads((CAPABILITIES / "conductivity" / f"{m}.json").read_text())
                        for m in ("two_electrode", "molecular_dynamics")]
        (root / "in" / "capabilities.json").write_text(json.dumps(capabilities))
        (root / "in" / "requests.json").write_text(json.dumps(requests))
        (root / "in" / "results_for_requests.json").write_text(json.dumps(results))
        del requests, results  # the import reads the files: keep the generator's copy out of its peak RSS
        repo = open_repository(root / "store")
        t = time.perf_counter()
        report = import_paths(repo, [root / "in"], raise_errors=True)
        import_s = time.perf_counter() - t
        assert report.errors == [] and report.created == 2 * args.n + len(capabilities), report.errors
        t = time.perf_counter()
        graph = frame(repo, "valid-results", {"quantity": "conductivity"})
        query_s = time.perf_counter() - t
        t = time.perf_counter()
        base = baseline(root / "in" / "results_for_requests.json")
        base_s = time.perf_counter() - t
        assert set(graph["uuid"]) == set(base["uuid"]), "graph and baseline disagree"
        means = base.set_index("uuid")["value"]
        assert all(abs(v - means[u]) < 1e-9 for u, v in zip(graph["uuid"], graph["value"])), "values disagree"
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        lines = [
            f"load before: {before}",
            f"load after:  {load_average()}",
            f"N = {args.n} requests + {args.n} results (+ {len(capabilities)} capabilities); python "
            f"{sys.version.split()[0]}, {os.cpu_count()} cores; peak RSS {peak_mb:.0f} MB",
            f"import: {report.created} records in {import_s:.1f} s = {report.created / import_s:.0f} objects/s "
            f"(phases: {', '.join(f'{k} {v:.1f} s' for k, v in report.timings.items())})",
            f"valid-results: {len(graph)} rows in {query_s:.3f} s; pandas baseline {len(base)} rows in {base_s:.3f} s; "
            f"ratio {query_s / base_s:.1f}x",
        ]
        repo.close()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
