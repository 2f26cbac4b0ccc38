"""FINALES import and valid-results query at scale, vs a same-run pandas baseline.

Generates N requests + N results modelled on the reference conductivity examples (F2Opt-style
requests, ASAB two_electrode and MD results with 1-3 values, ratings 0-5, some deleted,
some success false), imports them into a fresh store and times `valid-results`; the baseline
loads the same JSON with pandas and applies F2Opt's filter directly.

    python bench/finales.py --n 10000
"""

from __future__ import annotations

import argparse
import json
import random
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
        results.append({"uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                        "ctime": f"2023-11-{1 + i % 28:02d}T11:00:{i % 60:02d}",
                        "status": rng.choices(["original", "amended", "deleted"], [85, 10, 5])[0],
                        "result": {"data": {"run_info": {"formulation": form, "internal_reference": f"run-{i}"},
                                            "conductivity": {"values": values, "temperature": 298.15,
                                                             "meta": {"success": rng.random() > 0.05,
                                                                      "rating": rng.randint(0, 5)}}},
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        requests, results = generate(args.n)
        (root / "in").mkdir()
        (root / "in" / "requests.json").write_text(json.dumps(requests))
        (root / "in" / "results_for_requests.json").write_text(json.dumps(results))
        repo = open_repository(root / "store")
        t = time.perf_counter()
        report = import_paths(repo, [root / "in"], raise_errors=True)
        import_s = time.perf_counter() - t
        t = time.perf_counter()
        graph = frame(repo, "valid-results", {"quantity": "conductivity"})
        query_s = time.perf_counter() - t
        t = time.perf_counter()
        base = baseline(root / "in" / "results_for_requests.json")
        base_s = time.perf_counter() - t
        assert set(graph["uuid"]) == set(base["uuid"]), "graph and baseline disagree"
        lines = [
            f"N = {args.n} requests + {args.n} results; python {sys.version.split()[0]}",
            f"import: {report.created} records in {import_s:.1f} s = {report.created / import_s:.0f} objects/s "
            f"(phases: {', '.join(f'{k} {v:.1f} s' for k, v in report.timings.items())})",
            f"valid-results: {len(graph)} rows in {query_s:.3f} s; pandas baseline {len(base)} rows in {base_s:.3f} s; "
            f"ratio {query_s / base_s:.1f}x",
        ]
        repo.close()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
