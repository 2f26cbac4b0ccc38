"""FINALES → graph: reference dumps, incremental re-import, status events, bad input, sync client."""

from __future__ import annotations

import copy
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from battkg.errors import FormatError, ShapeViolation
from battkg.mappers.finales.importer import import_paths
from battkg.mappers.finales.mapping import as_bool, as_rating
from battkg.mappers.finales.sync import SyncError, sync
from battkg.query import frame, run
from battkg.store import open_repository
from tests.conftest import FINALES_REFERENCE

API = FINALES_REFERENCE / "broker-run" / "api"
requires_finales = pytest.mark.skipif(not API.is_dir(), reason="../shared/reference/finales is absent")
pytestmark = requires_finales


@pytest.fixture()
def repo(tmp_path: Path):  # type: ignore[no-untyped-def]
    repository = open_repository(tmp_path / "store")
    yield repository
    repository.close()


def _graph_count(repo) -> int:  # type: ignore[no-untyped-def]
    return len(repo.graphs.graph_names())


def f2opt_valid(results: list[dict], quantity: str, min_rating: int) -> set[str]:
    """F2Opt's filter written directly on the JSON (the oracle): status, success, rating."""
    keep = set()
    for item in results:
        result = item["result"]
        if result["quantity"] != quantity or item["status"] == "deleted":
            continue
        meta = result["data"].get(quantity, {}).get("meta", {})
        success, rating = as_bool(meta.get("success")), as_rating(meta.get("rating"))
        if success and (rating is None or rating >= min_rating):
            keep.add(item["uuid"])
    return keep


def test_broker_dumps_import_and_valid_results_match_the_optimiser_rule(repo, tmp_path: Path) -> None:
    report = import_paths(repo, [API], raise_errors=True)
    assert report.errors == [] and report.created > 40
    frame_ = frame(repo, "valid-results", {"quantity": "conductivity"})
    results = json.loads((API / "results_for_requests.json").read_text())
    assert set(frame_["uuid"]) == f2opt_valid(results, "conductivity", 3)
    amended = frame_.set_index("uuid").loc["f015c9c9-1c0f-4cdf-8bc1-dc1cca7e6b95"]
    assert amended["value"] == pytest.approx(0.6) and amended["unit"] == "SiemensPerMetre"
    assert amended["salt_molality"] == pytest.approx(0.142, abs=2e-3)  # GUIDE §3.4 hand value
    assert amended["temperature"] == pytest.approx(298.0) and amended["tenant"] == "ASAB_tenant"
    # Idempotent: the same files again change nothing.
    before = _graph_count(repo)
    again = import_paths(repo, [API], raise_errors=True)
    assert again.created == 0 and again.status_changes == 0 and _graph_count(repo) == before


def test_a_changed_status_becomes_an_event_not_an_overwrite(repo, tmp_path: Path) -> None:
    results = json.loads((API / "results_for_requests.json").read_text())
    import_paths(repo, [API / "capabilities.json", API / "results_for_requests.json"], raise_errors=True)
    target = "f015c9c9-1c0f-4cdf-8bc1-dc1cca7e6b95"
    assert target in set(frame(repo, "valid-results", {"quantity": "conductivity"})["uuid"])
    changed = copy.deepcopy(results)
    entry = next(r for r in changed if r["uuid"] == target)
    entry["status"], entry["ctime"] = "deleted", "2026-11-23T08:00:00"
    (tmp_path / "later.json").write_text(json.dumps(changed))
    report = import_paths(repo, [tmp_path / "later.json"], raise_errors=True)
    assert report.status_changes == 1 and report.created == 0
    history = run(repo, "request-status-history", {"uuid": target}).values()
    assert [row[2] for row in history] == ["amended", "deleted"]
    assert target not in set(frame(repo, "valid-results", {"quantity": "conductivity"})["uuid"])
    statuses = run(repo, "records", {"technique": "finales", "status": "deleted"}).values()
    assert any(target in row[2] for row in statuses)


def test_unsolicited_and_unknown_request_results_are_kept_and_flagged(repo, tmp_path: Path) -> None:
    results = json.loads((API / "results_for_requests.json").read_text())
    orphan = copy.deepcopy(results[3])
    orphan["uuid"] = "11111111-2222-4333-8444-555555555555"
    orphan["result"]["request_uuid"] = "99999999-9999-4999-8999-999999999999"
    unsolicited = copy.deepcopy(results[3])
    unsolicited["uuid"] = "11111111-2222-4333-8444-666666666666"
    unsolicited["result"]["request_uuid"] = ""
    (tmp_path / "odd.json").write_text(json.dumps([orphan, unsolicited]))
    report = import_paths(repo, [tmp_path / "odd.json"], raise_errors=True)
    assert report.created == 2 and report.unknown_requests == 1
    rows = run(repo, """SELECT ?u ?known ?unsolicited WHERE { ?r finales:finalesUuid ?u ; finales:requestKnown ?known .
                        OPTIONAL { ?r finales:unsolicited ?unsolicited } } ORDER BY ?u""").values()
    assert rows == [[orphan["uuid"], False, None], [unsolicited["uuid"], False, True]]


def test_results_are_validated_against_the_capability_schema(repo) -> None:
    import_paths(repo, [FINALES_REFERENCE / "serialized_quantities"], raise_errors=True)
    bad = FINALES_REFERENCE / "examples" / "results" / "degradationEOL" / "degradation_model.json"
    good = FINALES_REFERENCE / "examples" / "constructed" / "degradationEOL" / "degradation_model.result.json"
    report = import_paths(repo, [bad, good], raise_errors=True)
    assert report.created == 2 and report.invalid == 1
    rows = run(repo, """SELECT ?path ?status ?valid ?message WHERE { ?r finales:jsonPath ?p ; finales:importedFrom ?path ;
                        battkg:status ?status ; finales:schemaValid ?valid . OPTIONAL { ?r finales:validationMessage ?message } }
                        ORDER BY ?path""").values()
    by_file = {Path(r[0]).name: r for r in rows}
    assert by_file["degradation_model.json"][1:3] == ["invalid", False]
    assert "data.degradationEOL" in by_file["degradation_model.json"][3]
    assert by_file["degradation_model.result.json"][1:3] == ["active", True]


@pytest.mark.parametrize(
    ("text", "field", "rule"),
    [
        ('[{"uuid": "a", "ctime": null, "status": "original", "result": {"data": {}, "quantity": "x", "method": ["m"], '
         '"parameters": {}, "tenant_uuid": "t", "request_uuid": ""}}, {"uuid": "b", "ctime": null, "status": "original", '
         '"result": {"data": {}, "quantity": 3, "method": ["m"], "parameters": {}, "tenant_uuid": "t"}}]',
         "$[1].result.quantity", "must be a JSON string (got integer)"),
        ('[{"uuid": "a", "ctime": null, "status": "finished", "request": {"quantity": "q", "methods": ["m"], '
         '"parameters": {}, "tenant_uuid": "t"}}]', "$[0].status", "is not a FINALES status"),
        ('[{"uuid": "a", "ctime": null, "status": "pending",', None, "not valid JSON"),
    ],
)
def test_malformed_files_name_file_and_json_path_and_store_nothing(repo, tmp_path: Path, text: str,
                                                                   field: str | None, rule: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text(text)
    before = _graph_count(repo)
    with pytest.raises(FormatError) as error:
        import_paths(repo, [path], raise_errors=True)
    assert str(path) in str(error.value) and rule in str(error.value)
    assert error.value.field == field
    assert _graph_count(repo) == before
    # Without raise_errors the error is reported and nothing stored either.
    report = import_paths(repo, [path])
    assert len(report.errors) == 1 and _graph_count(repo) == before


def test_a_shape_violation_names_its_record_and_json_path_and_the_file_stores_nothing(
        repo, monkeypatch: pytest.MonkeyPatch) -> None:
    """Records of a file are SHACL-checked together, but a violation still names its own record."""
    from battkg.mappers.finales import importer

    results = json.loads((API / "results_for_requests.json").read_text())
    target = results[2]["uuid"]
    original = importer._Importer._record_nodes

    def with_a_mapping_bug(self, obj, iri, *args):  # type: ignore[no-untyped-def]
        nodes = original(self, obj, iri, *args)
        if obj.uuid == target:
            del nodes[0]["schemaChecked"]  # nodes[0] is the record node
        return nodes

    import_paths(repo, [API / "capabilities.json"], raise_errors=True)  # their schemas give the value units
    monkeypatch.setattr(importer._Importer, "_record_nodes", with_a_mapping_bug)
    before = _graph_count(repo)
    with pytest.raises(ShapeViolation) as error:
        import_paths(repo, [API / "results_for_requests.json"], raise_errors=True)
    assert [v.property for v in error.value.violations] == ["schemaChecked"]
    assert f"(result {target} at $[2].result)" in error.value.violations[0].record
    assert str(API / "results_for_requests.json") in str(error.value)
    assert _graph_count(repo) == before
    # The refused file's shared nodes (formulations) were not written, so the next import writes them.
    monkeypatch.undo()
    import_paths(repo, [API / "results_for_requests.json"], raise_errors=True)
    valid = frame(repo, "valid-results", {"quantity": "conductivity"})
    assert len(valid) == 2 and valid["salt_molality"].notna().all()


def test_cq7_and_cq5_join_experiment_and_simulation_on_one_formulation(repo) -> None:
    import_paths(repo, [API], raise_errors=True)
    results = json.loads((API / "results_for_requests.json").read_text())
    valid = f2opt_valid(results, "conductivity", 3)
    cq7 = frame(repo, "cq7-conductivity-vs-molality")
    kinds = set(cq7[cq7["lipf6_molality"].round(3) == 0.142]["kind"])
    assert {"experiment", "simulation"} <= kinds
    assert (cq7["rating"].dropna() >= 3).all()
    # Every row is a valid result's own record: a request record must not pick up its result's
    # values through prov:wasInformedBy (that is how the deleted, rating-2 result's 0.55/0.57 S/m
    # once showed up as method "finales"/"two_electrode" without rating).
    objects = dict(run(repo, "SELECT ?r ?o WHERE { ?r finales:finalesObject ?o }").values())
    shown = {objects[record] for record in cq7["record"]}
    assert shown == {f"https://w3id.org/battkg/id/finales/result/{u}" for u in valid}
    assert not {0.55, 0.57} & set(cq7["conductivity"].round(2))
    cq5 = frame(repo, "cq5-experiments-and-models")
    assert set(cq5["source"]) == shown and cq5["lipf6_molality"].notna().all()
    md = cq5[cq5["method"] == "molecular_dynamics"]
    assert len(md) == 1 and md.iloc[0]["requested_by"] == "9a1f3c4e-0c1d-4b6e-9f2a-5d7e8b9c0a11"


def test_tenant_capabilities_and_open_requests(repo) -> None:
    import_paths(repo, [API], raise_errors=True)
    caps = frame(repo, "tenant-capabilities", {"tenant": "ASAB_tenant"})
    temperature = caps[(caps["method"] == "two_electrode") & (caps["field"] == "temperature")].iloc[0]
    assert temperature["minimum"] == pytest.approx(299.65) or temperature["minimum"] > 0
    open_ = frame(repo, "open-requests")
    assert set(open_["status"]) == {"pending", "reserved"}


# --------------------------------------------------------------------------- sync (stand-in broker)


class _Broker(BaseHTTPRequestHandler):
    token = "secret-token"
    routes = {"/capabilities/": "capabilities.json", "/tenants/": "tenants.json",
              "/all_requests/": "requests.json", "/results_requested/": "results_for_requests.json"}

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        if self.headers.get("Authorization") != f"Bearer {self.token}":
            self._send(401, b'{"detail":"Not authenticated"}')
            return
        name = self.routes.get(self.path.split("?", 1)[0])
        self._send(200, (API / name).read_bytes()) if name else self._send(404, b"null")

    def _send(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def broker():  # type: ignore[no-untyped-def]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Broker)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_sync_pulls_the_broker_and_refuses_bad_tokens(repo, broker: str) -> None:
    report = sync(repo, broker, "secret-token", retries=0)
    assert report.errors == [] and report.created > 30
    source = run(repo, "SELECT DISTINCT ?s WHERE { ?r finales:importedFrom ?s }").values()
    assert source == [[broker]]
    assert sync(repo, broker, "secret-token", retries=0).created == 0
    with pytest.raises(SyncError, match="refused the token"):
        sync(repo, broker, "wrong", retries=0)


def test_sync_reports_an_unreachable_broker(repo) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(SyncError, match="cannot reach the broker"):
        sync(repo, f"http://127.0.0.1:{port}", "t", retries=1, backoff=0.01, timeout=2)


def test_a_file_written_through_the_bulk_path_is_still_all_or_nothing(repo, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Large files take the store's non-transactional bulk path; a failure there stores nothing."""
    from battkg.errors import StoreError
    from battkg.store import OxigraphStore
    from tests.test_access_views import _FailingBulkStore, _assert_views_follow

    monkeypatch.setattr(OxigraphStore, "BULK_QUADS", 1)  # every file of the reference dump goes the bulk way
    store = repo.graphs
    before = {str(q) for q in store.native}
    native = store._store
    store._store = _FailingBulkStore(native)
    with pytest.raises(StoreError, match="disk full"):
        import_paths(repo, [API], raise_errors=True)
    store._store = native
    assert {str(q) for q in store.native} == before
    _assert_views_follow(repo)

    report = import_paths(repo, [API], raise_errors=True)
    assert report.errors == [] and report.created > 40
    _assert_views_follow(repo)
    results = json.loads((API / "results_for_requests.json").read_text())
    assert set(frame(repo, "valid-results", {"quantity": "conductivity"})["uuid"]) == f2opt_valid(
        results, "conductivity", 3)
    again = import_paths(repo, [API], raise_errors=True)
    assert again.created == 0 and again.status_changes == 0
