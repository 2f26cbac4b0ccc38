"""The shared record path, end to end on XRD text files."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from battkg.blobs import sha256_file
from battkg.errors import FormatError, MetadataError, ShapeViolation, StoreError
from battkg.record import record_iri
from battkg.store import open_repository
from tests.helpers import ORCID_A, ingest, snapshot, user, write_xy


def test_ingest_stores_graph_raw_file_and_arrays(repo, tmp_path: Path) -> None:
    path = write_xy(tmp_path / "p.xy", n=300)
    result = ingest(repo, path)
    assert result.created
    assert repo.graphs.has_graph(result.record_iri)
    raw_sha = sha256_file(path).sha256
    assert repo.blobs.open_verified(raw_sha) == path.read_bytes()
    arrays = repo.graphs.query(
        f"SELECT ?path ?kind ?shape ?sha WHERE {{ GRAPH <{result.record_iri}> {{"
        " ?d battkg:hasArray ?a ; battkg:sha256 ?sha . ?a battkg:hdf5Path ?path ; battkg:quantityKind ?kind ;"
        " battkg:shape ?shape } } ORDER BY ?path", graphs=None)
    rows = [(s["path"].value, s["kind"].value.rsplit("#", 1)[-1], s["shape"].value, s["sha"].value) for s in arrays]
    assert [r[:3] for r in rows] == [("/pattern/intensity", "DiffractionIntensity", "300"),
                                     ("/pattern/two_theta", "TwoTheta", "300")]
    with h5py.File(repo.blobs.path_of(rows[0][3]), "r") as h5:
        np.testing.assert_allclose(h5["/pattern/two_theta"][:3], [10.0, 10.05, 10.1])
        assert h5["/pattern/two_theta"].attrs["unit"] == "degree"


def test_wavelength_converted_to_canonical_unit_with_original_kept(repo, tmp_path: Path) -> None:
    from battkg.readers import ScalarQuantity

    meta = user(wavelength=None)
    meta.quantities = [ScalarQuantity("Wavelength", 0.15406, "nanometer", "Kα1")]
    result = ingest(repo, write_xy(tmp_path / "p.xy"), meta)
    rows = list(repo.graphs.query(f"""
        SELECT ?v ?unit ?ov ?ou WHERE {{ GRAPH <{result.record_iri}> {{
          ?q a emmo:EMMO_573c7572_e7c7_4909_93a4_2bfe102e389d ;
             emmo:EMMO_8ef3cd6d_ae58_4a8d_9fc0_ad8f49015cd0/emmo:EMMO_faf79f53_749d_40b2_807c_d34244c192f4 ?v ;
             emmo:EMMO_bed1d005_b04e_4a90_94cf_02bc678a8569 ?unit ; battkg:originalValue ?ov ; battkg:originalUnit ?ou }} }}"""))
    assert len(rows) == 1
    assert float(rows[0]["v"].value) == pytest.approx(1.5406)
    assert rows[0]["unit"].value == "https://w3id.org/emmo#Angstrom"
    assert float(rows[0]["ov"].value) == pytest.approx(0.15406)
    assert rows[0]["ou"].value == "nanometer"


def test_provenance_and_status(repo, tmp_path: Path) -> None:
    result = ingest(repo, write_xy(tmp_path / "p.xy"))
    ask = repo.graphs.query(f"""
        ASK {{ GRAPH <{result.record_iri}> {{
          <{result.record_iri}> a battkg:GraphRecord ; battkg:status "active" ; battkg:accessLevel "public" ;
              prov:wasGeneratedBy ?ingest ; battkg:describes ?m ; dcat:distribution ?raw .
          ?ingest a battkg:IngestActivity ; prov:used ?raw ; prov:wasAssociatedWith ?sw .
          ?sw a prov:SoftwareAgent ; battkg:softwareVersion ?version .
          ?m a chameo:XrayPowderDiffraction, chameo:CharacterisationMeasurementProcess ;
             chameo:hasOperator <{ORCID_A}> ; chameo:hasMeasurementSample ?s ;
             chameo:hasCharacterisationMeasurementInstrument ?i .
          ?s rdfs:label "LNO-019" ; battkg:hasMaterial ?mat .
          ?mat a chemsub:substance_c28a0967_ed23_48cc_a14e_a651d75a19db .
          ?raw battkg:sha256 ?sha ; dcat:byteSize ?size ; dcat:mediaType "text/plain" . }} }}""")
    assert bool(ask)


def test_reingest_is_a_noop_and_changed_options_make_a_new_record(repo, tmp_path: Path) -> None:
    path = write_xy(tmp_path / "p.xy")
    first = ingest(repo, path)
    before = snapshot(repo)
    again = ingest(repo, path)
    assert not again.created and again.record_id == first.record_id
    assert snapshot(repo) == before
    other = ingest(repo, path, user(sample="LNO-020"))
    assert other.created and other.record_id != first.record_id
    revised = ingest(repo, path, user(revises=first.record_id, rating=4))
    rows = list(repo.graphs.query(
        f"SELECT ?old WHERE {{ <{revised.record_iri}> prov:wasRevisionOf ?old }}"))
    assert [r["old"].value for r in rows] == [record_iri(first.record_id)]


def test_reingest_of_a_large_file_is_answered_without_staging_a_copy(repo, tmp_path: Path, monkeypatch) -> None:
    """Above HASH_BEFORE_STAGING_BYTES the existing record is found by hashing alone (no copy written);
    a new file of that size still goes through staging, and gets the same record id."""
    import battkg.ingest.pipeline as pipeline

    path = write_xy(tmp_path / "p.xy")
    monkeypatch.setattr(pipeline, "HASH_BEFORE_STAGING_BYTES", 0)  # every file counts as large
    first = ingest(repo, path)
    assert first.created

    def no_staging(source: Path) -> None:
        raise AssertionError(f"{source} was staged although its record exists")

    monkeypatch.setattr(repo.blobs, "stage_file", no_staging)
    again = ingest(repo, path)
    assert not again.created and again.record_id == first.record_id
    monkeypatch.setattr(pipeline, "HASH_BEFORE_STAGING_BYTES", 1 << 40)
    with pytest.raises(AssertionError, match="was staged"):  # a small file is staged first, as before
        ingest(repo, path)


BAD_FILES = {
    "empty": ("", FormatError, "file is empty"),
    "non-numeric": ("# h\n10 1\n10.1 2\n10.2 x\n", FormatError, "non-numeric value 'x'"),
    "truncated": ("# h\n10 1\n10.1 2\n10.2\n", FormatError, "row has 1 column(s)"),
    "binary": ("\x00\x01\x02binary", FormatError, "binary content"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_files_leave_the_store_untouched(repo, tmp_path: Path, case: str) -> None:
    content, error, text = BAD_FILES[case]
    ingest(repo, write_xy(tmp_path / "good.xy"))
    before = snapshot(repo)
    path = tmp_path / f"{case}.xy"
    path.write_text(content)
    with pytest.raises(error) as info:
        ingest(repo, path)
    assert text in str(info.value) and str(path) in str(info.value)
    assert snapshot(repo) == before


@pytest.mark.parametrize(
    ("meta", "error", "text"),
    [
        (dict(sample=None), MetadataError, "no sample name"),
        (dict(wavelength=None), ShapeViolation, "needs the radiation wavelength"),
        (dict(operator="https://orcid.org/0000-0002-1825-0098"), MetadataError, "not a valid ORCID"),
        (dict(operator="https://example.org/someone"), MetadataError, "give an ORCID iD"),
        (dict(rating=7), MetadataError, "from 1 to 5"),
        (dict(access="secret"), MetadataError, "public, restricted, confidential"),
    ],
    ids=["no-sample", "no-wavelength", "bad-orcid-checksum", "operator-not-orcid", "rating", "access"],
)
def test_missing_or_bad_metadata_is_refused_without_side_effects(repo, tmp_path: Path, meta: dict, error: type,
                                                                 text: str) -> None:
    before = snapshot(repo)
    kwargs = {k: v for k, v in meta.items() if k in ("sample", "operator", "wavelength")}
    extra = {k: v for k, v in meta.items() if k not in kwargs}
    with pytest.raises(error) as info:
        ingest(repo, write_xy(tmp_path / "p.xy"), user(**kwargs, **extra))
    assert text in str(info.value)
    assert snapshot(repo) == before


def test_shape_violation_message_names_record_node_property_rule_and_file(repo, tmp_path: Path) -> None:
    path = write_xy(tmp_path / "p.xy")
    with pytest.raises(ShapeViolation) as info:
        ingest(repo, path, user(wavelength=None))
    (violation,) = info.value.violations
    assert violation.record.startswith("https://w3id.org/battkg/id/record/")
    assert "#measurement" in violation.node
    assert violation.property == "hasMeasurementParameter"
    assert violation.shape_file == "shapes/xrd.ttl"
    assert str(path) in str(info.value)


def test_failed_commit_removes_the_blobs_it_added(repo, tmp_path: Path, monkeypatch) -> None:
    before = snapshot(repo)

    def broken_put_graph(graph, quads):  # type: ignore[no-untyped-def]
        raise StoreError("disk full (simulated)")

    monkeypatch.setattr(repo.graphs, "put_graph", broken_put_graph)
    with pytest.raises(StoreError, match="disk full"):
        ingest(repo, write_xy(tmp_path / "p.xy"))
    assert snapshot(repo) == before


def test_store_location_errors(tmp_path: Path) -> None:
    a_file = tmp_path / "store.txt"
    a_file.write_text("not a store")
    with pytest.raises(StoreError, match="is a file, not a directory"):
        open_repository(a_file)
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "holiday.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(StoreError, match="not a battkg store"):
        open_repository(foreign)
    corrupt = tmp_path / "corrupt"
    (corrupt / "graph").mkdir(parents=True)
    (corrupt / "graph" / "CURRENT").write_text("garbage\n")
    with pytest.raises(StoreError, match="cannot open the graph store"):
        open_repository(corrupt)


def test_status_change_keeps_everything_and_hides_record_from_queries(repo, tmp_path: Path) -> None:
    from battkg.query import run
    from battkg.record import mark_status

    result = ingest(repo, write_xy(tmp_path / "p.xy"))
    assert len(run(repo, "experiments-by-technique", {"technique": "xrd"}).rows) == 1
    mark_status(repo, result.record_id, "deleted", "wrong sample holder")
    assert run(repo, "experiments-by-technique", {"technique": "xrd"}).rows == []
    events = list(repo.graphs.query(f"""SELECT ?reason ?prev WHERE {{ <{result.record_iri}> battkg:hasStatusEvent ?e .
        ?e battkg:status "deleted" ; battkg:statusReason ?reason ; rdfs:comment ?prev }}"""))
    assert [(e["reason"].value, e["prev"].value) for e in events] == [("wrong sample holder", "previous status: active")]
    assert repo.graphs.has_graph(result.record_iri)


def test_gc_removes_only_unreferenced_blobs(repo, tmp_path: Path) -> None:
    ingest(repo, write_xy(tmp_path / "p.xy"))
    keep = set(repo.blobs.keys())
    orphan = tmp_path / "orphan.bin"
    orphan.write_bytes(b"left over by an interrupted ingest")
    ref, _ = repo.blobs.put_file(orphan)
    referenced = {s["sha"].value for s in repo.graphs.query("SELECT DISTINCT ?sha WHERE { ?d battkg:sha256 ?sha }")}
    removed = repo.blobs.garbage_collect(referenced)
    assert removed == [ref.sha256]
    assert set(repo.blobs.keys()) == keep


def test_file_changed_during_ingest_is_refused(repo, tmp_path: Path, monkeypatch) -> None:
    """The stored raw blob must be exactly the bytes whose checksum the record names."""
    from battkg.readers import detect_reader

    path = write_xy(tmp_path / "p.xy")
    before = snapshot(repo)
    real_read = detect_reader("xrd", path).module.read

    def read_then_modify(p, **options):  # type: ignore[no-untyped-def]
        parsed = real_read(p, **options)
        p.write_text(p.read_text() + "# appended by the instrument software\n")
        return parsed

    monkeypatch.setattr("battkg.ingest.xrd.text_xy.read", read_then_modify)
    with pytest.raises(StoreError, match="changed while it was being ingested"):
        ingest(repo, path)
    assert snapshot(repo) == before


def test_reader_parses_a_staged_copy_and_a_user_file_changed_meanwhile_is_refused(repo, tmp_path: Path,
                                                                                  monkeypatch) -> None:
    """The raw file is read once, into a staged copy under its own name that is parsed and then stored;
    an instrument still writing to the user's file meanwhile makes the ingest refuse, naming that file."""
    import re

    from battkg.readers import detect_reader

    path = write_xy(tmp_path / "p.xy")
    before = snapshot(repo)
    real_read = detect_reader("xrd", path).module.read
    given: list[Path] = []

    def read_while_the_instrument_appends(p, **options):  # type: ignore[no-untyped-def]
        given.append(Path(p))
        parsed = real_read(p, **options)
        with open(path, "a") as handle:
            handle.write("# appended by the instrument software\n")
        return parsed

    monkeypatch.setattr("battkg.ingest.xrd.text_xy.read", read_while_the_instrument_appends)
    with pytest.raises(StoreError, match=re.escape(str(path)) + " changed while it was being ingested"):
        ingest(repo, path)
    assert given[0].name == "p.xy" and given[0].parent.parent == repo.blobs.tmp_dir
    assert snapshot(repo) == before


def test_sidecar_metadata_is_overridden_by_explicit_values_and_checked(tmp_path: Path) -> None:
    import json

    from battkg.ingest.pipeline import user_metadata

    path = write_xy(tmp_path / "p.xy")
    (tmp_path / "p.xy.meta.json").write_text(json.dumps({"sample": "A", "wavelength": 1.5406, "rating": "4"}))
    meta = user_metadata("xrd", path, {"sample": "B"})
    assert meta.sample == "B" and meta.rating == 4
    assert [(q.quantity, q.value, q.unit) for q in meta.quantities] == [("Wavelength", 1.5406, "angstrom")]
    (tmp_path / "p.xy.meta.json").write_text(json.dumps({"sample": "A", "colour": "blue"}))
    with pytest.raises(MetadataError, match="colour.*unknown field"):
        user_metadata("xrd", path)
    (tmp_path / "p.xy.meta.json").write_text(json.dumps({"wavelength": "copper"}))
    with pytest.raises(MetadataError, match="must be a number in angstrom"):
        user_metadata("xrd", path)
