"""Tries to read what a caller may not see: every route and every SPARQL trick must come back empty or 404."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from battkg.record import mark_status, record_iri
from tests.api.conftest import World, auth

SELECT_TITLES = "SELECT ?r WHERE { ?r a battkg:GraphRecord }"


def _records(client: TestClient, query: str, headers: dict[str, str] | None = None, **params: str) -> set[str]:
    response = client.get("/sparql", params={"query": query, **params}, headers=headers or {})
    assert response.status_code == 200, response.text
    found = set()
    for binding in response.json()["results"]["bindings"]:
        for value in binding.values():
            found.add(value["value"])
    return found


def test_visibility_by_role(client: TestClient, world: World) -> None:
    iris = {level: record_iri(i) for level, i in world.ids.items()}
    assert _records(client, SELECT_TITLES) == {iris["public"]}
    assert _records(client, SELECT_TITLES, auth(world.tokens["reader"])) == {iris["public"], iris["restricted"]}
    # A reader whose ORCID operated the confidential record sees it; the admin sees everything.
    assert _records(client, SELECT_TITLES, auth(world.tokens["owner"])) == set(iris.values())
    assert _records(client, SELECT_TITLES, auth(world.tokens["admin"])) == set(iris.values())
    listed = client.get("/records", headers=auth(world.tokens["writer"])).json()
    assert {item["identifier"] for item in listed["items"]} == {world.ids["public"], world.ids["restricted"]}


@pytest.mark.parametrize("query", [
    "SELECT ?r WHERE { GRAPH ?g { ?r a battkg:GraphRecord } }",
    "SELECT ?r FROM <{secret}> WHERE { ?r a battkg:GraphRecord }",
    "SELECT ?r FROM NAMED <{secret}> WHERE { GRAPH ?g { ?r a battkg:GraphRecord } }",
    "SELECT ?r WHERE { GRAPH <{secret}> { ?r ?p ?o } }",
    "SELECT ?r WHERE { ?r (battkg:describes|^battkg:describes|!a)* ?x . FILTER(STR(?r) = \"{secret}\") }",
    "SELECT ?r WHERE { ?r ?p ?o FILTER(CONTAINS(STR(?r), \"{secret_id}\")) }",
    "SELECT ?r WHERE { ?e a battkg:StatusEvent ; battkg:statusReason ?r }",
    "SELECT ?r WHERE { ?s rdfs:label ?r FILTER(STRSTARTS(?r, \"S-confidential\")) }",
])
def test_sparql_tricks_never_reach_hidden_graphs(client: TestClient, world: World, query: str) -> None:
    secret_id = world.ids["confidential"]
    mark_status(world.repo, secret_id, "invalid", "secret reason")  # status events of hidden records stay hidden
    secret = record_iri(secret_id)
    text = query.replace("{secret}", secret).replace("{secret_id}", secret_id)
    for headers in ({}, auth(world.tokens["reader"])):
        found = _records(client, text, headers)
        assert not any(secret_id in value or value == "secret reason" or value.startswith("S-confidential")
                       for value in found), (text, found)
    # The same trick as the admin does see it, so the query itself is not what hides the data.
    if "StatusEvent" in query:
        assert "secret reason" in _records(client, text, auth(world.tokens["admin"]))


def test_describe_construct_and_protocol_dataset(client: TestClient, world: World) -> None:
    secret = record_iri(world.ids["confidential"])
    described = client.get("/sparql", params={"query": f"DESCRIBE <{secret}>"}, headers={"accept": "application/n-triples"})
    assert described.status_code == 200 and described.text.strip() == ""
    construct = client.get("/sparql", params={"query": "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }"},
                           headers={"accept": "application/n-triples"})
    assert world.ids["confidential"] not in construct.text and world.ids["public"] in construct.text
    # default-graph-uri / named-graph-uri are intersected with the visible graphs.
    query = "SELECT ?r WHERE { ?r a battkg:GraphRecord }"
    assert _records(client, query, **{"default-graph-uri": secret}) == set()
    public = record_iri(world.ids["public"])
    assert _records(client, query, **{"default-graph-uri": public}) == {public}
    named = "SELECT ?r WHERE { GRAPH ?g { ?r a battkg:GraphRecord } }"
    assert _records(client, named, **{"named-graph-uri": secret}) == set()
    assert _records(client, named, auth(world.tokens["admin"]), **{"named-graph-uri": secret}) == {secret}


def test_service_is_refused_even_escaped(client: TestClient) -> None:
    for text in ("SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
                 "SELECT * WHERE { service <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
                 "SELECT * WHERE { \\u0053ERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"):
        response = client.get("/sparql", params={"query": text})
        assert response.status_code == 400 and "SERVICE" in response.json()["detail"]


def test_record_routes_hide_what_the_caller_may_not_see(client: TestClient, world: World) -> None:
    secret = world.ids["confidential"]
    for path in (f"/records/{secret}", f"/records/{secret}/raw", f"/records/{secret}/arrays/intensity",
                 f"/records/{secret}/export?format=ro-crate", f"/store?graph={record_iri(secret)}"):
        assert client.get(path).status_code == 404, path
        assert client.get(path, headers=auth(world.tokens["reader"])).status_code == 404, path
        assert client.get(path, headers=auth(world.tokens["admin"])).status_code == 200, path
    campaign = client.post("/export", json={"records": [secret]}, headers=auth(world.tokens["reader"]))
    assert campaign.status_code == 404


def test_tokens_and_roles(client: TestClient, world: World) -> None:
    assert client.get("/records", headers={"Authorization": "Bearer bkg_0000_nope"}).status_code == 403
    assert client.get("/records", headers={"Authorization": "Basic abc"}).status_code == 403
    status = {"status": "deleted", "reason": "wrong holder"}
    public = world.ids["public"]
    assert client.post(f"/records/{public}/status", json=status).status_code == 401
    assert client.post(f"/records/{public}/status", json=status,
                       headers=auth(world.tokens["reader"])).status_code == 403
    # A writer cannot change a record it cannot see; the answer does not say it exists.
    assert client.post(f"/records/{world.ids['confidential']}/status", json=status,
                       headers=auth(world.tokens["writer"])).status_code == 404
    changed = client.post(f"/records/{public}/status", json=status, headers=auth(world.tokens["writer"]))
    assert changed.status_code == 200 and "#status-" in changed.json()["event"]
    assert client.get("/records").json()["total"] == 0  # deleted: gone from the default (active) listing
    listed = client.get("/records", params={"status": "deleted"}).json()["items"]
    assert [item["identifier"] for item in listed] == [public]


def test_users_file_holds_no_secrets(world: World) -> None:
    text = (world.repo.blobs.root / "users.json").read_text()
    for token in world.tokens.values():
        assert token.split("_", 2)[2] not in text
    assert oct((world.repo.blobs.root / "users.json").stat().st_mode & 0o777) == "0o600"
