"""The command line (exit codes, outputs) and the minimal SPARQL endpoint."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from battkg.cli import app
from battkg.demo import write_demo_files
from tests.helpers import write_xy

runner = CliRunner()


@pytest.fixture
def store(tmp_path: Path) -> str:
    return str(tmp_path / "store")


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_help_everywhere() -> None:
    for args in ([], ["ingest"], ["query"], ["records"], ["ontology"], ["export"], ["validate"], ["serve"], ["gc"]):
        result = invoke(*args, "--help")
        assert result.exit_code == 0, (args, result.output)
        assert "Usage" in result.output


def test_ingest_list_query_export_validate(store: str, tmp_path: Path) -> None:
    files = [str(p) for p in write_demo_files(tmp_path / "demo")]
    result = invoke("ingest", "xrd", *files, "--store", store)
    assert result.exit_code == 0, result.output
    ids = [line for line in result.stdout.splitlines() if len(line) == 36]
    assert len(ids) == 3
    again = invoke("ingest", "xrd", files[0], "--store", store)
    assert again.exit_code == 0 and "exists" in again.stderr
    listed = invoke("records", "list", "--technique", "xrd", "--format", "csv", "--store", store)
    rows = list(csv.DictReader(io.StringIO(listed.stdout)))
    assert {r["identifier"] for r in rows} == set(ids)
    by_technique = invoke("query", "--name", "experiments-by-technique", "--param", "technique=xrd",
                          "--format", "csv", "--store", store)
    assert by_technique.exit_code == 0
    assert len(list(csv.DictReader(io.StringIO(by_technique.stdout)))) == 3
    sparql = invoke("query", "SELECT (COUNT(DISTINCT ?r) AS ?n) WHERE { ?r a battkg:GraphRecord }",
                    "--format", "json", "--store", store)
    assert json.loads(sparql.stdout)["results"]["bindings"][0]["n"]["value"] == "3"
    exported = invoke("export", ids[0], "--format", "jsonld", "--store", store)
    assert exported.exit_code == 0
    record_file = tmp_path / "record.jsonld"
    record_file.write_text(exported.stdout)
    assert invoke("validate", str(record_file)).exit_code == 0
    broken = json.loads(exported.stdout)
    (record_node,) = [n for n in broken["@graph"] if "accessLevel" in n]
    record_node["accessLevel"] = "secret"
    record_file.write_text(json.dumps(broken))
    bad = invoke("validate", str(record_file))
    assert bad.exit_code == 1 and "access level must be" in bad.stderr


def test_ingest_errors_have_exit_codes_and_messages(store: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.xy"
    bad.write_text("# header\n10 1\n10.1 oops\n")
    result = invoke("ingest", "xrd", str(bad), "--sample", "S1", "--wavelength", "1.5406", "--store", store)
    assert result.exit_code == 1
    assert "line 3" in result.stderr and "oops" in result.stderr and "Traceback" not in result.output
    no_wavelength = invoke("ingest", "xrd", str(write_xy(tmp_path / "ok.xy")), "--sample", "S1", "--store", store)
    assert no_wavelength.exit_code == 1 and "wavelength" in no_wavelength.stderr
    assert invoke("ingest", "nmr", str(bad), "--store", store).exit_code == 2
    assert invoke("records", "list", "--store", str(bad)).exit_code == 2  # a file is no store


def test_records_mark_and_query_param_errors(store: str, tmp_path: Path) -> None:
    path = write_xy(tmp_path / "p.xy")
    record_id = invoke("ingest", "xrd", str(path), "--sample", "S1", "--wavelength", "1.5406",
                       "--store", store).stdout.strip()
    marked = invoke("records", "mark", record_id, "--status", "invalid", "--reason", "detector saturated",
                    "--store", store)
    assert marked.exit_code == 0
    assert invoke("records", "list", "--format", "csv", "--store", store).stdout.count("\n") == 1  # header only
    listed = invoke("records", "list", "--status", "invalid", "--format", "csv", "--store", store)
    assert record_id in listed.stdout
    missing = invoke("query", "--name", "experiments-by-operator", "--store", store)
    assert missing.exit_code == 1 and "needs parameter" in missing.stderr


def test_ontology_search_cli() -> None:
    result = invoke("ontology", "search", "ionic conductivity")
    assert result.exit_code == 0 and "electrochemistry_25dabdc2" in result.stdout
    assert invoke("ontology", "search", "zzzz-nothing").exit_code == 1
    assert invoke("ontology", "context", "--check").exit_code == 0


def test_sparql_endpoint_get_post_and_negotiation(repo, tmp_path: Path) -> None:
    from battkg.api.app import create_app
    from tests.helpers import ingest

    ingest(repo, write_xy(tmp_path / "p.xy"))
    client = TestClient(create_app(repo=repo))
    assert client.get("/healthz").json()["status"] == "ok"
    query = "SELECT ?t WHERE { ?r a <https://w3id.org/battkg/vocab#GraphRecord> ; <http://purl.org/dc/terms/title> ?t }"
    got = client.get("/sparql", params={"query": query})
    assert got.status_code == 200 and got.headers["content-type"].startswith("application/sparql-results+json")
    assert len(got.json()["results"]["bindings"]) == 1
    posted = client.post("/sparql", content=query, headers={"content-type": "application/sparql-query",
                                                             "accept": "text/csv"})
    assert posted.status_code == 200 and posted.text.startswith("t\r\n")
    form = client.post("/sparql", data={"query": query}, headers={"accept": "application/sparql-results+xml"})
    assert form.status_code == 200 and "<sparql" in form.text
    construct = client.get("/sparql", params={"query": "CONSTRUCT WHERE { ?s a ?o } LIMIT 2"},
                           headers={"accept": "application/n-triples"})
    assert construct.status_code == 200 and construct.text.count(" .\n") == 2
    bad = client.get("/sparql", params={"query": "SELECT ?x WHERE { ?x"})
    assert bad.status_code == 400 and "syntax error" in bad.json()["detail"]
    service = client.get("/sparql", params={"query": "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"})
    assert service.status_code == 400 and "SERVICE" in service.json()["detail"]
