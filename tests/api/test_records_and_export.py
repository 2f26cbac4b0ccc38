"""Record routes (list, JSON-LD/Turtle/HTML, arrays, raw), uploads, and archive export (JSON-LD, RO-Crate, Invenio)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pyoxigraph as ox
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from battkg.cli import app as cli_app
from battkg.demo import write_demo_files
from battkg.record import record_iri
from tests.api.conftest import World, auth
from tests.conftest import SAMPLES, requires_shared_samples
from tests.helpers import snapshot


def test_record_representations(client: TestClient, world: World) -> None:
    rid = world.ids["public"]
    document = client.get(f"/records/{rid}")
    assert document.headers["content-type"].startswith("application/ld+json")
    (root,) = document.json()["@graph"]  # framed: one tree rooted at the record
    assert root["@id"].endswith(rid) and root["accessLevel"] == "public"
    stored = {str(q.subject) + str(q.predicate) + str(q.object) for q in world.repo.graphs.graph_quads(record_iri(rid))}
    parsed = ox.parse(document.content, format=ox.RdfFormat.JSON_LD)
    assert {str(t.subject) + str(t.predicate) + str(t.object) for t in parsed} == stored  # lossless
    turtle = client.get(f"/records/{rid}", headers={"accept": "text/turtle"})
    assert len(list(ox.parse(turtle.content, format=ox.RdfFormat.TURTLE))) == len(stored)
    page = client.get(f"/records/{rid}", headers={"accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert page.headers["content-type"].startswith("text/html")
    assert "<svg" in page.text and "<polyline" in page.text and "TwoTheta [Degree]" in page.text
    points = page.text.split('points="')[1].split('"')[0].split()
    assert 100 < len(points) <= 2 * 544  # reduced to at most 2 points per pixel column, all of them drawn


def test_xrd_measurement_parameters(client: TestClient, world: World) -> None:
    """The wavelength and the 2θ start/end/step of an XRD record reach RecordInfo and the HTML page.

    Regression: the parameter query required ``rdfs:subClassOf* PhysicalQuantity``, which the
    application ontology does not state for EMMO's base quantities (Wavelength, Angle), so the
    list came back empty and the page said "none".
    """
    from battkg.export import record_info

    rid = world.ids["public"]  # write_xy(n=300, start=10.0, step=0.05), wavelength 1.5406 Å "Kα1"
    info = record_info(world.repo, rid)
    got = {kind: (float(value), unit) for kind, value, unit in info.parameters}
    assert set(got) == {"Wavelength (Kα1)", "TwoTheta (start)", "TwoTheta (end)", "TwoTheta (step)"}
    assert got["Wavelength (Kα1)"] == (1.5406, "Angstrom")
    assert got["TwoTheta (start)"][0] == 10.0 and abs(got["TwoTheta (end)"][0] - 24.95) < 1e-9
    assert abs(got["TwoTheta (step)"][0] - 0.05) < 1e-9 and got["TwoTheta (step)"][1] == "Degree"
    assert {"Wavelength", "TwoTheta"} <= set(info.quantity_labels)  # keywords of crates and deposits
    page = client.get(f"/records/{rid}", headers={"accept": "text/html"}).text
    table = page.split("<h2>Measurement parameters</h2>")[1].split("</table>")[0]
    assert "<th>Wavelength (Kα1)</th><td>1.5406 Angstrom</td>" in table and "none" not in table


def test_arrays_and_raw(client: TestClient, world: World) -> None:
    rid = world.ids["public"]
    expected = np.loadtxt(world.files["public"])
    as_json = client.get(f"/records/{rid}/arrays/pattern.two_theta", params={"format": "json"}).json()
    assert as_json["unit"] == "Degree" and np.allclose(as_json["values"], expected[:, 0])
    as_csv = client.get(f"/records/{rid}/arrays/intensity", params={"format": "csv"})
    assert as_csv.text.splitlines()[0] == "pattern.intensity [Count]"
    assert np.allclose(np.loadtxt(io.StringIO(as_csv.text), skiprows=1), expected[:, 1])
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = client.get(f"/records/{rid}/arrays/intensity", headers={"accept": "application/vnd.apache.arrow.file"})
    table = pa.ipc.open_file(pa.BufferReader(arrow.content)).read_all()
    assert np.allclose(table.column(0).to_numpy(), expected[:, 1])
    parquet = client.get(f"/records/{rid}/arrays/intensity", params={"format": "parquet"})
    assert pq.read_table(io.BytesIO(parquet.content)).schema.metadata[b"unit"] == b"Count"
    raw = client.get(f"/records/{rid}/raw")
    assert raw.content == world.files["public"].read_bytes() and "public.xy" in raw.headers["content-disposition"]
    # Path tricks in record ids and array names never reach the store or the file system.
    for path in (f"/records/{rid}/arrays/..%2F..%2Fusers.json", f"/records/{rid}/arrays/%2Fpattern%2Fintensity",
                 "/records/..%2Fusers.json", "/records/../../etc/passwd", f"/records/{rid}/arrays/nope"):
        response = client.get(path)
        assert response.status_code == 404, path


def test_listing_filters_and_paging(client: TestClient, world: World) -> None:
    admin = auth(world.tokens["admin"])
    assert client.get("/records", params={"sample": "S-restricted"}, headers=admin).json()["total"] == 1
    assert client.get("/records", params={"material": "linio2"}, headers=admin).json()["total"] == 3
    by_operator = client.get("/records", params={"operator": "https://orcid.org/0000-0001-5109-3700"}, headers=admin)
    assert [i["identifier"] for i in by_operator.json()["items"]] == [world.ids["confidential"]]
    assert client.get("/records", params={"technique": "eis"}, headers=admin).json()["total"] == 0
    assert client.get("/records", params={"created_after": "2999-01-01"}, headers=admin).json()["total"] == 0
    assert client.get("/records", params={"created_before": "2999-01-01"}, headers=admin).json()["total"] == 3
    page = client.get("/records", params={"limit": 2, "offset": 1}, headers=admin).json()
    assert len(page["items"]) == 2 and page["next"] is None and page["total"] == 3
    assert client.get("/records", params={"created_after": "yesterday"}).status_code == 422
    assert client.get("/records", params={"status": "gone"}).status_code == 422


def test_upload_is_all_or_nothing(client: TestClient, world: World, tmp_path: Path) -> None:
    files = write_demo_files(tmp_path / "demo")
    writer = auth(world.tokens["writer"])
    parts = [("file", (p.name, p.read_bytes(), "text/plain")) for p in files]
    parts += [("file", (p.name + ".meta.json", p.with_name(p.name + ".meta.json").read_bytes(), "application/json"))
              for p in files]
    ok = client.post("/ingest/xrd", files=parts, data={"access": "restricted"}, headers=writer)
    assert ok.status_code == 201, ok.text
    ids = [r["record"] for r in ok.json()["records"]]
    assert len(ids) == 3 and all(world.repo.graphs.has_graph(record_iri(i)) for i in ids)
    assert client.get(f"/records/{ids[0]}").status_code == 404  # restricted, as asked
    before = snapshot(world.repo)
    bad = [("file", ("good.xy", files[0].read_bytes().replace(b"Sample: LNO-019", b"Sample: other"), "text/plain")),
           ("file", ("bad.xy", b"10 1\n10.1 oops\n", "text/plain"))]
    refused = client.post("/ingest/xrd", files=bad, data={"sample": "S9", "wavelength": "1.5406"}, headers=writer)
    assert refused.status_code == 422
    (error,) = refused.json()["errors"]
    assert error["file"] == "bad.xy" and "line 2" in error["error"] and "oops" in error["error"]
    assert snapshot(world.repo)[:2] == before[:2]  # the good file of the failed request was taken back
    assert client.post("/ingest/xrd", files=bad, headers=auth(world.tokens["reader"])).status_code == 403
    assert client.post("/ingest/xrd", content=b"x", headers={"content-type": "text/plain", **writer}).status_code == 415
    assert client.post("/ingest/xrd", files=[("file", ("x.xy", b"1 2\n", "text/plain"))], data={"colour": "red"},
                       headers=writer).status_code == 422
    big = [("file", ("big.xy", b"1 2\n" * 600_000, "text/plain"))]
    assert client.post("/ingest/xrd", files=big, data={"sample": "S"}, headers=writer).status_code == 413
    traversal = [("file", ("../../../evil.xy", files[0].read_bytes(), "text/plain"))]
    response = client.post("/ingest/xrd", files=traversal, data={"sample": "S", "wavelength": "1.5406"}, headers=writer)
    assert response.status_code == 201 and response.json()["records"][0]["file"] == "evil.xy"
    assert not (world.repo.blobs.root.parent / "evil.xy").exists()


def test_upload_takes_reader_settings_like_the_cli(client: TestClient, world: World) -> None:
    """column_map / reader_option form fields reach the generic CSV reader (mA, discharge-positive);
    an unknown option or form field is a 422 and stores nothing."""
    writer = auth(world.tokens["writer"])
    csv = "t,U,I_mA,cyc\n" + "\n".join(f"{i * 10},{3.5 + 0.001 * i},{-20 if i < 5 else 30},1" for i in range(10))
    fields = {"sample": "C-API", "column_map": ["time=t", "voltage=U", "current=I_mA", "cycle_index=cyc"],
              "reader_option": ["units.current=mA", "current_sign=-1"]}
    ok = client.post("/ingest/cycling", files=[("file", ("run.csv", csv.encode(), "text/csv"))], data=fields,
                     headers=writer)
    assert ok.status_code == 201, ok.text
    (record,) = ok.json()["records"]
    current = client.get(f"/records/{record['record']}/arrays/current", headers={"accept": "text/csv"})
    assert current.status_code == 200, current.text
    header, *values = current.text.splitlines()
    assert header == "timeseries.current [Ampere]" and [float(v) for v in values] == pytest.approx([0.02] * 5 + [-0.03] * 5)
    before = snapshot(world.repo)
    typo = client.post("/ingest/cycling", files=[("file", ("run2.csv", csv.encode(), "text/csv"))],
                       data={**fields, "reader_option": ["curent_sign=-1"]}, headers=writer)
    assert typo.status_code == 422 and "unknown reader option 'curent_sign'" in typo.text
    assert snapshot(world.repo) == before


@requires_shared_samples
def test_md_upload_names_its_topology_among_the_parts(client: TestClient, world: World, tmp_path: Path) -> None:
    """A LAMMPS dump needs its data file: the ``topology`` field names that part, which is read with
    the dump (the record is the one the CLI makes with --topology) and not ingested on its own;
    naming a part that was not sent is a 422."""
    from battkg.ingest.pipeline import ingest_file
    from battkg.ingest.technique import UserMetadata
    from battkg.store import open_repository

    writer = auth(world.tokens["writer"])
    dump, data = SAMPLES / "md/mdanalysis_albite_triclinic.dump", SAMPLES / "md/mdanalysis_albite_triclinic.data"
    parts = [("file", (dump.name, dump.read_bytes(), "text/plain")), ("file", (data.name, data.read_bytes(), "text/plain"))]
    ok = client.post("/ingest/md", files=parts, data={"sample": "ALB", "topology": data.name}, headers=writer)
    assert ok.status_code == 201, ok.text
    (record,) = ok.json()["records"]  # one record: the topology is not a record of its own
    assert record["file"] == dump.name
    with open_repository(tmp_path / "cli") as repo:  # the same inputs through the Python/CLI path
        with_topology = ingest_file(repo, "md", dump, UserMetadata(sample="ALB"), reader_options={"topology": data})
        alone = ingest_file(repo, "md", dump, UserMetadata(sample="ALB"))
    assert record["record"] == with_topology.record_id != alone.record_id
    # the topology is kept with the record, under the name it was uploaded with
    kept = client.get(f"/records/{record['record']}/files/topology", headers=writer)
    assert kept.status_code == 200 and kept.content == data.read_bytes()
    assert data.name in kept.headers["content-disposition"]
    no_energies = client.get(f"/records/{record['record']}/files/energies", headers=writer)
    assert no_energies.status_code == 404 and "has no 'energies' file (it has: topology)" in no_energies.text
    before = snapshot(world.repo)
    missing = client.post("/ingest/md", files=parts[:1], data={"sample": "ALB", "topology": "other.data"},
                          headers=writer)
    assert missing.status_code == 422 and "not one of the uploaded files" in missing.text
    wrong_technique = client.post("/ingest/xrd", files=parts[1:], data={"topology": data.name}, headers=writer)
    assert wrong_technique.status_code == 422 and "unknown form field 'topology'" in wrong_technique.text
    assert snapshot(world.repo) == before


def _offline_ro_crate_context(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Serve the RO-Crate context from the copy the ``rocrate`` package ships: tests never go online.

    That copy is the 1.3 context, a superset of 1.1 with the same IRIs for every term the crate uses.
    """
    import rocrate
    from rocrate_validator.utils import document_loader

    local = json.loads((Path(rocrate.__file__).parent / "data" / "ro-crate.jsonld").read_text())
    original = document_loader._fetch_json_ld

    def fetch(source: str) -> dict[str, object]:
        if source.startswith("https://w3id.org/ro/crate/"):
            return {"@context": local["@context"]}
        return original(source)  # type: ignore[no-any-return]

    # roc-validator resolves remote contexts through its own loader; route the RO-Crate one to the local copy.
    monkeypatch.setattr(document_loader, "_fetch_json_ld", fetch)


def test_ro_crate_validates_with_roc_validator(world: World, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from rocrate_validator import services

    _offline_ro_crate_context(monkeypatch)

    runner = CliRunner()
    crate = tmp_path / "crate.zip"
    ids = [world.ids["public"], world.ids["confidential"]]
    result = runner.invoke(cli_app, ["export", *ids, "--format", "ro-crate", "--output", str(crate),
                                     "--store", world.repo.location])
    assert result.exit_code == 0, result.output
    folder = tmp_path / "crate"
    with zipfile.ZipFile(crate) as zf:
        zf.extractall(folder)
    metadata = json.loads((folder / "ro-crate-metadata.json").read_text())
    by_id = {e["@id"]: e for e in metadata["@graph"]}
    raw = by_id[f"{ids[0]}/public.xy"]
    assert raw["@type"] == "File" and raw["encodingFormat"] == "text/plain"
    import hashlib

    assert raw["sha256"] == hashlib.sha256((folder / raw["@id"]).read_bytes()).hexdigest()
    assert by_id[f"{ids[0]}/{ids[0]}.h5"]["encodingFormat"] == "application/x-hdf5"
    assert {a["@id"] for a in by_id["./"]["author"]} == {"https://orcid.org/0000-0002-1825-0097",
                                                        "https://orcid.org/0000-0001-5109-3700"}
    assert by_id["./"]["license"]["@id"].startswith("https://creativecommons.org/")
    # Checks 3.1/3.2 only test that the context URL answers over the network: the one thing an offline
    # test cannot do. Every other REQUIRED check of the 1.1 profile runs.
    settings = {"rocrate_uri": str(folder), "profile_identifier": "ro-crate-1.1", "requirement_severity": "REQUIRED",
                "skip_checks": ["ro-crate-1.1_3.1", "ro-crate-1.1_3.2"]}
    outcome = services.validate(settings)
    assert outcome.passed(), [f"{i.check.identifier}: {i.message}" for i in outcome.get_issues()]
    # A crate missing a declared file must fail the same validator: the check can fail.
    (folder / raw["@id"]).unlink()
    assert not services.validate(settings).passed()


# InvenioRDM metadata reference (inveniordm.docs.cern.ch/reference/metadata): top-level metadata fields
# and the shapes of creators and related identifiers used by the records API.
INVENIO_METADATA_FIELDS = {"resource_type", "creators", "title", "publication_date", "additional_titles",
                           "description", "additional_descriptions", "rights", "contributors", "subjects",
                           "languages", "dates", "version", "publisher", "identifiers", "related_identifiers",
                           "sizes", "formats", "locations", "funding", "references"}


def test_invenio_record(client: TestClient, world: World) -> None:
    rid = world.ids["public"]
    document = client.get(f"/records/{rid}/export", params={"format": "invenio"}).json()
    metadata = document["metadata"]
    assert set(metadata) <= INVENIO_METADATA_FIELDS
    assert metadata["resource_type"] == {"id": "dataset"}
    (creator,) = metadata["creators"]
    assert creator["person_or_org"]["type"] == "personal"
    assert creator["person_or_org"]["identifiers"] == [{"scheme": "orcid", "identifier": "0000-0002-1825-0097"}]
    subjects = {s["subject"] for s in metadata["subjects"]}
    assert {"XrayPowderDiffraction", "LithiumNickelOxide", "TwoTheta", "DiffractionIntensity"} <= subjects
    for related in metadata["related_identifiers"]:
        assert set(related) <= {"identifier", "scheme", "relation_type", "resource_type"}
    entries = document["files"]["entries"]
    assert entries["public.xy"]["size"] == world.files["public"].stat().st_size
    assert document["access"]["record"] == "public"
    assert client.get(f"/records/{rid}/export", params={"format": "pdf"}).status_code == 422


def test_campaign_export_by_query(client: TestClient, world: World) -> None:
    query = "SELECT ?record WHERE { ?record a battkg:GraphRecord }"
    crate = client.post("/export", json={"query": query, "name": "LNO campaign"}, headers=auth(world.tokens["reader"]))
    assert crate.status_code == 200
    with zipfile.ZipFile(io.BytesIO(crate.content)) as zf:
        metadata = json.loads(zf.read("ro-crate-metadata.json"))
        names = zf.namelist()
    root = next(e for e in metadata["@graph"] if e["@id"] == "./")
    assert root["name"] == "LNO campaign"
    folders = {n.split("/")[0] for n in names if "/" in n}
    assert folders == {world.ids["public"], world.ids["restricted"]}  # the reader's view, not more
