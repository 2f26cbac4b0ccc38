"""Competency questions CQ1-CQ4, the DataFrame API, and JSON-LD export round trips."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from rdflib.compare import isomorphic

from battkg.demo import write_demo_files
from battkg.export import export_record, record_quads
from battkg.query import QueryError, frame, named_queries, run
from battkg.record import jsonld_to_quads
from battkg.validation import quads_to_rdflib, validate_graph
from tests.helpers import ORCID_A, ORCID_B, ingest, user, write_xy


@pytest.fixture
def campaign(repo, tmp_path: Path) -> dict[str, str]:
    """A small realistic campaign: two LNO samples (operator A), one graphite (operator B)."""
    ids = {}
    ids["lno19"] = ingest(repo, write_xy(tmp_path / "lno19.xy"), user("LNO-019", "LiNiO2", ORCID_A)).record_id
    ids["lno20"] = ingest(repo, write_xy(tmp_path / "lno20.xy", n=250), user("LNO-020", "LNO", "Ada Lovelace")).record_id
    ids["gr"] = ingest(repo, write_xy(tmp_path / "gr.xy", n=120), user("GR-001", "graphite", ORCID_B)).record_id
    return ids


def _ids(result) -> set[str]:  # type: ignore[no-untyped-def]
    return {row[0].value.rsplit("/", 1)[-1] for row in result.rows}


def test_cq1_by_operator_orcid_or_name(repo, campaign) -> None:
    assert _ids(run(repo, "experiments-by-operator", {"operator": ORCID_A})) == {campaign["lno19"]}
    assert _ids(run(repo, "experiments-by-operator", {"operator": "0000-0001-5109-3700"})) == {campaign["gr"]}
    assert _ids(run(repo, "experiments-by-operator", {"operator": "ada lovelace"})) == {campaign["lno20"]}
    assert _ids(run(repo, "experiments-by-operator", {"operator": "Nobody"})) == set()


@pytest.mark.parametrize("name", ["LiNiO2", "LNO", "LithiumNickelOxide", "lnO", "lithium nickel_oxide", "li-ni-o2"])
def test_cq2_by_material_any_name(repo, campaign, name: str) -> None:
    assert _ids(run(repo, "experiments-by-material", {"material": name})) == {campaign["lno19"], campaign["lno20"]}


def test_cq2_graphite(repo, campaign) -> None:
    assert _ids(run(repo, "experiments-by-material", {"material": "Gr"})) == {campaign["gr"]}
    assert _ids(run(repo, "experiments-by-material", {"material": "NMC811"})) == set()


def test_lookup_keys_match_the_queries_normalisation(repo) -> None:
    """The store's battkg:lookupKey values are what the queries' LCASE(REPLACE(...)) makes of a term."""
    import pyoxigraph as ox

    from battkg.ontology import lookup_key

    for term in ("Lithium Nickel-Oxide", "X_RD", "ÄÖü ß", "LiPF6"):
        sparql = f'SELECT (LCASE(REPLACE(STR({ox.Literal(term)}), "[ _-]", "")) AS ?k) WHERE {{}}'
        (row,) = list(repo.graphs.query(sparql))
        assert row["k"].value == lookup_key(term)
    keys = {sol["k"].value for sol in repo.graphs.query(
        "SELECT ?k WHERE { GRAPH <https://w3id.org/battkg/vocab> "
        "{ chemsub:substance_c28a0967_ed23_48cc_a14e_a651d75a19db battkg:lookupKey ?k } }")}
    assert {"lithiumnickeloxide", "linio2", "lno"} <= keys


@pytest.mark.parametrize("name", ["xrd", "XRD", "XrayDiffraction", "XrayPowderDiffraction"])
def test_cq3_by_technique_uses_the_class_hierarchy(repo, campaign, name: str) -> None:
    result = run(repo, "experiments-by-technique", {"technique": name})
    assert _ids(result) == set(campaign.values())
    classes = {row[result.columns.index("technique_class")].value.rsplit("#", 1)[-1] for row in result.rows}
    assert classes == {"XrayPowderDiffraction"}  # the most specific class, once per record


def test_cq3_other_technique_finds_nothing(repo, campaign) -> None:
    assert run(repo, "experiments-by-technique", {"technique": "raman"}).rows == []


@pytest.mark.parametrize("observable", ["crystal structure", "LatticeParameter", "lattice parameters", "phases"])
def test_cq4_by_observable(repo, campaign, observable: str) -> None:
    assert _ids(run(repo, "experiments-by-observable", {"observable": observable})) == set(campaign.values())


def test_cq4_unrelated_observable(repo, campaign) -> None:
    assert run(repo, "experiments-by-observable", {"observable": "binding energy"}).rows == []


def test_every_named_query_has_a_header_and_projects_its_parameters() -> None:
    queries = named_queries()
    assert {"experiments-by-operator", "experiments-by-material", "experiments-by-technique",
            "experiments-by-observable", "records"} <= set(queries)
    for query in queries.values():
        assert query.summary, query.name
        for param in query.params:
            select = query.text[query.text.index("SELECT"):query.text.index("WHERE")]
            assert f"?{param}" in select, f"{query.name}: ?{param} must be projected for substitution"


def test_frame_returns_dataframe_in_query_column_order(repo, campaign) -> None:
    df = frame(repo, "experiments-by-material", {"material": "LiNiO2"})
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == ["record", "title", "technique", "sample", "material_name", "material_class",
                                "started", "material"]
    assert sorted(df["sample"]) == ["LNO-019", "LNO-020"]


def test_query_errors_are_plain(repo) -> None:
    with pytest.raises(QueryError, match="needs parameter"):
        run(repo, "experiments-by-operator")
    with pytest.raises(QueryError, match="no named query"):
        run(repo, "experiments-by-colour")
    with pytest.raises(QueryError, match="syntax error"):
        run(repo, "SELECT ?x WHERE { ?x ")


def test_parameter_values_cannot_inject_sparql(repo, campaign) -> None:
    evil = 'xrd" ) || true || ( "'
    assert run(repo, "experiments-by-technique", {"technique": evil}).rows == []


def test_export_round_trip_is_isomorphic(repo, campaign) -> None:
    for record_id in campaign.values():
        document = export_record(repo, record_id)
        assert isinstance(document["@context"], dict)  # inline: never a remote context
        stored = quads_to_rdflib(record_quads(repo, record_id))
        reparsed = quads_to_rdflib(jsonld_to_quads(json.dumps(document)))
        assert len(stored) == len(reparsed)
        assert isomorphic(stored, reparsed)


def test_exported_record_validates_and_tampering_is_caught(repo, campaign) -> None:
    document = export_record(repo, campaign["lno19"])
    quads = jsonld_to_quads(json.dumps(document))
    assert [v for v in validate_graph(quads, "x") if v.severity == "Violation"] == []
    text = json.dumps(document).replace('"active"', '"archived"')
    from battkg.errors import ShapeViolation

    with pytest.raises(ShapeViolation, match="status must be exactly one of"):
        validate_graph(jsonld_to_quads(text), "x")


def test_remote_contexts_are_refused() -> None:
    with pytest.raises(SyntaxError):
        jsonld_to_quads('{"@context": "https://example.org/ctx.jsonld", "@id": "https://e.org/a", "name": "x"}')


def test_demo_files_ingest_with_sidecars(repo, tmp_path: Path) -> None:
    from battkg.ingest.pipeline import ingest_file, user_metadata

    paths = write_demo_files(tmp_path / "demo")
    assert [p.suffix for p in paths] == [".xy", ".xye", ".csv"]
    for path in paths:
        result = ingest_file(repo, "xrd", path, user_metadata("xrd", path))
        assert result.created, path
    materials = run(repo, "records")
    assert {row[materials.columns.index("sample")].value for row in materials.rows} == {
        "LNO-019", "LNO-020-cycled", "GR-001"}
