"""The SPARQL 1.1 Protocol, Update and Graph Store Protocol against a running server, with real clients."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from battkg.record import record_iri
from tests.api.conftest import World, auth

BOMB = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


def test_sparqlwrapper_and_rdflib_against_live_server(live_server: str, world: World) -> None:
    from rdflib import Graph
    from rdflib.plugins.stores.sparqlstore import SPARQLStore
    from SPARQLWrapper import CSV, JSON, TURTLE, XML, SPARQLWrapper

    endpoint = SPARQLWrapper(f"{live_server}/sparql")
    endpoint.setQuery("PREFIX battkg: <https://w3id.org/battkg/vocab#> "
                      "SELECT ?id WHERE { ?r a battkg:GraphRecord ; <http://purl.org/dc/terms/identifier> ?id }")
    endpoint.setReturnFormat(JSON)
    bindings = endpoint.query().convert()["results"]["bindings"]  # type: ignore[index]
    assert [b["id"]["value"] for b in bindings] == [world.ids["public"]]
    endpoint.setReturnFormat(XML)
    assert endpoint.query().convert().getElementsByTagName("literal")[0].firstChild.data == world.ids["public"]  # type: ignore[union-attr]
    endpoint.setReturnFormat(CSV)
    assert endpoint.query().convert().decode().splitlines()[1] == world.ids["public"]  # type: ignore[union-attr]
    endpoint.setMethod("POST")
    endpoint.setQuery("CONSTRUCT { ?r a <https://w3id.org/battkg/vocab#GraphRecord> } "
                      "WHERE { ?r a <https://w3id.org/battkg/vocab#GraphRecord> }")
    endpoint.setReturnFormat(TURTLE)
    graph = Graph().parse(data=endpoint.query().convert(), format="turtle")  # type: ignore[arg-type]
    assert {str(s) for s in graph.subjects()} == {record_iri(world.ids["public"])}

    store = SPARQLStore(f"{live_server}/sparql", returnFormat="json")
    rows = list(store.query("SELECT ?t WHERE { ?r <http://purl.org/dc/terms/title> ?t }"))
    assert [str(r[0]) for r in rows] == ["XRD of S-public (public.xy)"]
    with pytest.raises(Exception, match="wrong formulating"):  # the client's wording of our 400
        store.query("SELECT ?x WHERE { ?x")


def test_query_time_limit_stops_the_worker(live_server: str) -> None:
    started = time.monotonic()
    response = httpx.get(f"{live_server}/sparql", params={"query": BOMB}, timeout=30)
    elapsed = time.monotonic() - started
    assert response.status_code == 503 and "time limit of 1.5 s" in response.json()["detail"]
    assert elapsed < 6
    # Other requests were answered while the bomb ran, and the endpoint works right after.
    quick = httpx.get(f"{live_server}/sparql", params={"query": "ASK { ?s ?p ?o }"},
                      headers={"accept": "application/sparql-results+json"}, timeout=10)
    assert quick.status_code == 200 and quick.json()["boolean"] is True


def test_time_limit_kills_the_process(client: TestClient) -> None:
    runner = client.app.state.battkg.runner  # type: ignore[attr-defined]
    before = set(runner.worker_pids())
    response = client.get("/sparql", params={"query": BOMB})
    assert response.status_code == 503
    assert runner.killed == 1
    import os

    for pid in before:  # the worker that ran the bomb is gone (reaped), a fresh one replaced it
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert set(runner.worker_pids()).isdisjoint(before)


def test_update_is_validated_and_needs_a_token(client: TestClient, world: World) -> None:
    iri = record_iri(world.ids["public"])
    retitle = (f"DELETE {{ GRAPH <{iri}> {{ <{iri}> dcterms:title ?t }} }} "
               f"INSERT {{ GRAPH <{iri}> {{ <{iri}> dcterms:title \"renamed\" }} }} "
               f"WHERE {{ GRAPH <{iri}> {{ <{iri}> dcterms:title ?t }} }}")
    headers = {"content-type": "application/sparql-update"}
    assert client.post("/sparql/update", content=retitle, headers=headers).status_code == 401
    assert client.post("/sparql/update", content=retitle,
                       headers={**headers, **auth(world.tokens["reader"])}).status_code == 403
    ok = client.post("/sparql/update", content=retitle, headers={**headers, **auth(world.tokens["writer"])})
    assert ok.status_code == 204, ok.text
    titles = client.get("/sparql", params={"query": "SELECT ?t WHERE { ?r dcterms:title ?t }"}, headers={"accept": "text/csv"})
    assert titles.text.splitlines()[1:] == ["renamed"]  # the query workers see the write at once
    broken = (f"DELETE {{ GRAPH <{iri}> {{ <{iri}> battkg:accessLevel ?a }} }} "
              f"INSERT {{ GRAPH <{iri}> {{ <{iri}> battkg:accessLevel \"secret\" }} }} "
              f"WHERE {{ GRAPH <{iri}> {{ <{iri}> battkg:accessLevel ?a }} }}")
    refused = client.post("/sparql/update", content=broken, headers={**headers, **auth(world.tokens["writer"])})
    assert refused.status_code == 422 and "access level must be" in refused.text
    assert world.repo.graphs.query(f"ASK {{ GRAPH <{iri}> {{ <{iri}> battkg:accessLevel \"public\" }} }}")
    hidden = record_iri(world.ids["confidential"])
    for text in (f"DROP GRAPH <{hidden}>", f"INSERT DATA {{ GRAPH <{hidden}> {{ <{hidden}> rdfs:label \"x\" }} }}",
                 "INSERT DATA { <http://x/s> <http://x/p> \"default graph\" }", "LOAD <http://127.0.0.1:9/x.ttl>",
                 "CLEAR ALL", f"WITH data:x INSERT {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o }}"):
        response = client.post("/sparql/update", content=text, headers={**headers, **auth(world.tokens["writer"])})
        assert response.status_code in (400, 403), (text, response.text)
    assert world.repo.graphs.has_graph(hidden)


def test_graph_store_protocol(client: TestClient, world: World) -> None:
    iri = record_iri(world.ids["public"])
    got = client.get("/store", params={"graph": iri}, headers={"accept": "text/turtle"})
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/turtle")
    turtle = got.text
    writer = auth(world.tokens["writer"])
    # PUT the same content back (replace), then a broken version that must be refused.
    put = client.put("/store", params={"graph": iri}, content=turtle, headers={"content-type": "text/turtle", **writer})
    assert put.status_code == 204, put.text
    broken = turtle.replace('"public"', '"secret"')
    refused = client.put("/store", params={"graph": iri}, content=broken,
                         headers={"content-type": "text/turtle", **writer})
    assert refused.status_code == 422 and "access level must be" in refused.text
    added = client.post("/store", params={"graph": iri}, content=f'<{iri}> <http://www.w3.org/2000/01/rdf-schema#comment> "checked" .',
                        headers={"content-type": "application/n-triples", **writer})
    assert added.status_code == 204
    assert "checked" in client.get("/store", params={"graph": iri}, headers={"accept": "application/n-triples"}).text
    assert client.post("/store", params={"graph": iri}, content="x", headers={"content-type": "text/html", **writer}).status_code == 415
    assert client.delete("/store", params={"graph": iri}, headers=writer).status_code == 403
    assert client.delete("/store", params={"graph": iri}, headers=auth(world.tokens["admin"])).status_code == 204
    assert not world.repo.graphs.has_graph(iri)
    assert client.get("/store", params={"default": ""}).status_code == 400


def test_malicious_jsonld_and_sizes(client: TestClient, world: World) -> None:
    iri = record_iri(world.ids["public"])
    writer = auth(world.tokens["writer"])
    remote = json.dumps({"@context": "http://127.0.0.1:9/context.jsonld", "@id": iri, "title": "x"})
    response = client.put("/store", params={"graph": iri}, content=remote,
                          headers={"content-type": "application/ld+json", **writer})
    assert response.status_code == 400 and "remote context" in response.json()["detail"]
    huge = json.dumps({"@id": iri, "http://purl.org/dc/terms/title": "x" * 3_000_000})
    response = client.put("/store", params={"graph": iri}, content=huge,
                          headers={"content-type": "application/ld+json", **writer})
    assert response.status_code == 413
    assert client.post("/sparql", content="x" * 3_000_000, headers={"content-type": "application/sparql-query"}).status_code == 413
    assert client.post("/sparql", content="{}", headers={"content-type": "application/json"}).status_code == 415
    assert client.get("/sparql", params={"query": "ASK {}"}, headers={"accept": "image/png"}).status_code == 406
