"""CQ6 on the full chain, built only through real ingest paths.

formulate (ASAB electrolyte/flow request + result, FINALES import)
  → assemble (the real AutoBASS cell_assembly result of 2023-11-24, FINALES import)
  → cycle (a real EC-Lab GCPL file through ``battkg ingest cycling --sample <AutoBASS cell uuid>``)
  → end of life (that record's end-of-life analysis, and a FINALES degradation_model prediction for the cell).

The reference payloads already share their identifiers (the ASAB result's
``formulation_info.uuid`` is the AutoBASS cells' ``electrolyte_info.uuid``; the constructed
EOL result names AutoBASS Cell_57), so no link is invented here: the test only wraps the
bodies the way the broker serves them (uuid, ctime, status) and gives the constructed EOL
result the chain's electrolyte instead of its placeholder one.  Unrelated records (another
electrolyte sample, a cycling record and an EOL prediction of cells not made from it) must
not appear in the chain.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from battkg.cli import app
from battkg.mappers.finales.importer import import_paths
from battkg.query import frame
from battkg.store import open_repository
from tests.conftest import FINALES_REFERENCE, SAMPLES

EXAMPLES = FINALES_REFERENCE / "examples"
FLOW_REQUEST = EXAMPLES / "requests" / "electrolyte" / "flow.json"
FLOW_RESULT = EXAMPLES / "constructed" / "electrolyte" / "flow.result.as_posted_by_asab_tenant.json"
OTHER_FLOW_RESULT = EXAMPLES / "results" / "electrolyte" / "flow.json"
ASSEMBLY = EXAMPLES / "real" / "cell_assembly" / "autobass_assembly.result.2023-11-24.json"
EOL = EXAMPLES / "constructed" / "degradationEOL" / "degradation_model.result.json"
GCPL = SAMPLES / "cycling" / "eclab_gcpl.issue_149.mpr"
pytestmark = pytest.mark.skipif(not (ASSEMBLY.is_file() and GCPL.is_file()),
                                reason="../shared/reference/finales or ../shared/samples is absent")


def _served(uid: str, ctime: str, status: str, kind: str, body: dict) -> dict:
    """A body as the broker's GET endpoints return it."""
    return {"uuid": uid, "ctime": ctime, "status": status, kind: body}


def _chain_files(tmp_path: Path) -> dict[str, Any]:
    flow = json.loads(FLOW_RESULT.read_text())
    assembly = json.loads(ASSEMBLY.read_text())
    sample = flow["data"]["run_info"]["formulation_info"]["uuid"]
    cells = [item["cell_info"] for item in assembly["data"]["batch_output"]]
    assert {c["electrolyte_info"]["uuid"] for c in cells} == {sample}  # the reference data's own link
    request = json.loads(FLOW_REQUEST.read_text())
    request["parameters"] = flow["parameters"]  # the request the ASAB result answers asked for this electrolyte
    eol = json.loads(EOL.read_text())
    cell = eol["data"]["degradationEOL"]["cell_info"]
    assert cell["uuid"] == cells[0]["uuid"]  # Cell_57 of the AutoBASS batch
    eol["data"]["run_info"]["formulation"] = flow["data"]["run_info"]["formulation"]
    eol["data"]["run_info"]["formulation_info"] = flow["data"]["run_info"]["formulation_info"]
    eol["parameters"]["degradation_model"]["battery_chemistry"]["electrolyte"] = flow["data"]["run_info"]["formulation"]
    # Unrelated: an EOL prediction for a cell that was not made from this electrolyte.
    stranger = copy.deepcopy(eol)
    stranger["data"]["degradationEOL"]["cell_info"] = {**cell, "uuid": "9f0e3a57-0000-4000-8000-unrelated001",
                                                       "cell_name": "Cell_99"}
    stranger["parameters"]["degradation_model"]["cell_info"] = stranger["data"]["degradationEOL"]["cell_info"]
    files = {
        "requests.json": [_served(flow["request_uuid"], "2023-11-24T09:00:00", "resolved", "request", request)],
        "results.json": [
            _served("0b5a4c1e-1111-4a11-8a11-000000000001", "2023-11-24T10:00:00", "original", "result", flow),
            _served("0b5a4c1e-1111-4a11-8a11-000000000002", "2023-11-24T14:00:00", "original", "result", assembly),
            _served("0b5a4c1e-1111-4a11-8a11-000000000003", "2023-12-20T08:00:00", "original", "result", eol),
            _served("0b5a4c1e-1111-4a11-8a11-000000000004", "2023-12-20T09:00:00", "original", "result", stranger),
            _served("0b5a4c1e-1111-4a11-8a11-000000000005", "2023-07-27T12:00:00", "original", "result",
                    json.loads(OTHER_FLOW_RESULT.read_text())),
        ],
    }
    folder = tmp_path / "broker"
    folder.mkdir()
    for name, content in files.items():
        (folder / name).write_text(json.dumps(content))
    return {"folder": folder, "sample": sample, "cells": [c["uuid"] for c in cells],
            "flow_request": flow["request_uuid"]}


def _ingest_cycling(store: Path, tmp_path: Path, cell: str, formulation: list) -> None:
    """``battkg ingest cycling`` as a user runs it, with a sidecar naming the cell and its electrolyte."""
    meta = tmp_path / f"{cell}.meta.json"
    meta.write_text(json.dumps({"formulation": formulation, "cell_format": "CR2032 coin cell",
                                "positive_electrode": "LiNiO2", "negative_electrode": "graphite"}))
    result = CliRunner().invoke(app, ["ingest", "cycling", str(GCPL), "--sample", cell, "--meta", str(meta),
                                      "--formation-cycles", "1", "--store", str(store)], catch_exceptions=False)
    assert result.exit_code == 0, result.output


def test_cq6_returns_formulate_assemble_cycle_end_of_life_in_order(tmp_path: Path) -> None:
    chain = _chain_files(tmp_path)
    store = tmp_path / "store"
    repo = open_repository(store)
    try:
        report = import_paths(repo, [FINALES_REFERENCE / "serialized_quantities", chain["folder"]], raise_errors=True)
        assert report.errors == [] and report.created >= 6
    finally:
        repo.close()
    flow = json.loads(FLOW_RESULT.read_text())
    cell_57, cell_58 = chain["cells"][0], chain["cells"][1]
    _ingest_cycling(store, tmp_path, cell_57, flow["data"]["run_info"]["formulation"])
    _ingest_cycling(store, tmp_path, "9f0e3a57-0000-4000-8000-unrelated001", flow["data"]["run_info"]["formulation"])

    repo = open_repository(store)
    try:
        rows = frame(repo, "cq6-sample-sequence", {"sample": chain["sample"]})
        everything = frame(repo, "cq6-sample-sequence")
    finally:
        repo.close()

    assert set(rows["sample"]) == {chain["sample"]}
    assert rows["formulation"].nunique() == 1 and "AXPLOJNSKRXQPA-UHFFFAOYSA-N=0.0803" in rows["formulation"].iloc[0]
    # Step 1 once, then per cell: every AutoBASS cell was assembled; Cell_57 was also cycled and reached step 4.
    formulate = rows[rows["step"] == 1]
    assert len(formulate) == 1 and formulate.iloc[0]["method"] == "flow"
    assert formulate.iloc[0]["request"] == chain["flow_request"]
    assert set(rows.loc[rows["step"] == 2, "cell"]) == set(chain["cells"])
    sequence = rows[rows["cell"] == cell_57]
    assert list(sequence["step"]) == [2, 3, 4, 4]
    assert list(sequence["method"]) == ["autobass_assembly", "cycling", "cycling end-of-life analysis",
                                        "degradation_model"]
    assert list(rows[rows["cell"] == cell_58]["step"]) == [2]
    # In order: formulated before assembled before the EOL prediction (broker times).
    times = dict(zip(rows["method"], rows["time"].astype(str)))
    assert times["flow"] < times["autobass_assembly"] < times["degradation_model"]
    # Unrelated records stay out of this chain and form no chain of their own.
    assert "9f0e3a57-0000-4000-8000-unrelated001" not in set(everything["cell"])
    other = everything[everything["sample"] != chain["sample"]]
    assert list(other["step"]) == [1]  # the other electrolyte sample: formulated, nothing made from it
    assert len(everything) == len(rows) + 1
