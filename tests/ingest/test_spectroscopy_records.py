"""XPS, Raman and FTIR through the whole ingest path: records vs the MANIFEST oracle, bad input, shapes, CQ4.

Every sample file of ``shared/samples/{xps,raman,ftir}`` is ingested into a
fresh store; the tests then read the HDF5 arrays the graph points to and the
graph itself, and compare both with the oracle.  Nothing here compares with
hard-coded values of a sample.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from battkg.errors import FormatError, MetadataError, ShapeViolation
from battkg.ingest.pipeline import IngestResult, ingest_file, user_metadata
from battkg.ingest.technique import UserMetadata
from battkg.ontology import vocabulary
from battkg.query import run
from battkg.readers import ScalarQuantity
from battkg.store import Repository
from battkg.validation import validate_graph
from tests.conftest import SAMPLES, manifest_entries, requires_shared_samples, sample_path
from tests.helpers import ingest, snapshot, user, write_xy
from tests.ingest.test_ftir_readers import _oracle as ftir_oracle
from tests.ingest.test_ftir_readers import _oracle_ordinate
from tests.ingest.test_raman_readers import _oracle as raman_oracle

XPS_FORMATS = ("vamas", "phi-spe", "scienta-txt", "specs-prodigy-xy")
LASER_NM = 532.0  # only for the one Raman text file that states no laser


def _ingest_sample(repo: Repository, technique: str, path: Path, **extra: Any) -> IngestResult:
    quantities = [ScalarQuantity("LaserWavelength", LASER_NM, "nm")] if technique == "raman" else []
    return ingest_file(repo, technique, path, UserMetadata(sample="S-1", quantities=quantities, **extra))


def _arrays(repo: Repository, result: IngestResult) -> dict[tuple[str, str], tuple[str, np.ndarray]]:
    """(block, array name) -> (quantity key, values), read from the HDF5 blob the record points to.

    The dict keeps the HDF5 file's order, which is the file's block order.
    """
    rows = list(repo.graphs.query(f"""
        SELECT ?path ?name ?kind ?block ?sha WHERE {{ GRAPH <{result.record_iri}> {{
          ?d battkg:hasArray ?a ; battkg:sha256 ?sha .
          ?a battkg:hdf5Path ?path ; rdfs:label ?name ; battkg:quantityKind ?kind ; battkg:block ?block }} }}""",
                                  graphs=None))
    assert rows, "the record describes no arrays"
    (sha,) = {r["sha"].value for r in rows}
    described = {r["path"].value: r for r in rows}
    out: dict[tuple[str, str], tuple[str, np.ndarray]] = {}
    with h5py.File(repo.blobs.path_of(sha), "r") as h5:
        datasets: list[h5py.Dataset] = []
        h5.visititems(lambda _name, obj: datasets.append(obj) if isinstance(obj, h5py.Dataset) else None)
        assert sorted(d.name for d in datasets) == sorted(described), "every HDF5 array is described, and only those"
        for dataset in datasets:
            r = described[dataset.name]
            out[(r["block"].value, r["name"].value)] = (vocabulary().key_of[r["kind"].value], dataset[()])
    return out


def _values(arrays: dict[tuple[str, str], tuple[str, np.ndarray]], block: str, name: str, kind: str) -> np.ndarray:
    found_kind, values = arrays[(block, name)]
    assert found_kind == kind
    return values


def _select(repo: Repository, result: IngestResult, where: str) -> list[dict[str, str]]:
    query = f"SELECT * WHERE {{ GRAPH <{result.record_iri}> {{ ?m a chameo:CharacterisationMeasurementProcess . {where} }} }}"
    solutions = repo.graphs.query(query, graphs=None)
    variables = list(solutions.variables)
    return [{v.value: row[v].value for v in variables if row[v] is not None} for row in solutions]


def _parameter(repo: Repository, result: IngestResult, quantity: str) -> list[tuple[float, str | None]]:
    rows = _select(repo, result, f"""?m chameo:hasMeasurementParameter ?q . ?q a <{vocabulary().iri(quantity)}> ;
        emmo:EMMO_8ef3cd6d_ae58_4a8d_9fc0_ad8f49015cd0/emmo:EMMO_faf79f53_749d_40b2_807c_d34244c192f4 ?v .
        OPTIONAL {{ ?q battkg:block ?block }}""")
    return [(float(r["v"]), r.get("block")) for r in rows]


# ------------------------------------------------------------------------------------------ XPS


def _xps_expected(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """Per-block oracle values in battkg terms: binding-energy first/last, counts first/last, hν."""
    oracle = entry["oracle"]
    fmt = entry["format"]
    if fmt == "vamas":  # vamas 0.2.0: kinetic axis start/step, raw counts
        return [{"n": b["n_points"], "hv": b["analysis_source_characteristic_energy"],
                 "be_first": b["analysis_source_characteristic_energy"] - b["x_start"],
                 "be_last": b["analysis_source_characteristic_energy"] - (b["x_start"] + (b["n_points"] - 1) * b["x_step"]),
                 "y_first": b["y_first"], "y_last": b["y_last"], "name": b["block_identifier"] or None}
                for b in oracle["blocks"]]
    if fmt == "phi-spe":  # yadg: binding energy only; the header facts from the spe-xps-reader cross-check
        (facts,) = [c["metadata"] for c in entry["cross_checks"] if "metadata" in c]
        return [{"n": g["E"]["n"], "be_first": g["E"]["first"], "be_last": g["E"]["last"], "name": name.lstrip("/"),
                 "hv": float(facts["Source Energy"])} for name, g in oracle["groups"].items()]
    blocks = oracle.get("blocks") or [oracle]  # pynxtools: binding axis, raw counts
    return [{"n": b["n_points"], "be_first": b["x_first"], "be_last": b["x_last"], "y_first": b["y_first"],
             "y_last": b["y_last"], "hv": b["excitation_energy"], "name": b.get("region_name")} for b in blocks]


@requires_shared_samples
@pytest.mark.parametrize("entry", manifest_entries("xps", formats=XPS_FORMATS))
def test_xps_record_matches_oracle(repo: Repository, entry: dict[str, Any]) -> None:
    result = _ingest_sample(repo, "xps", sample_path(entry))
    arrays = _arrays(repo, result)
    expected = _xps_expected(entry)
    regions = _select(repo, result, """?m a chameo:XpsVariableKinetic ; battkg:hasSpectralRegion ?r .
        ?r battkg:block ?block ; rdfs:label ?label ; battkg:regionKind ?kind ; battkg:numberOfPoints ?n .
        OPTIONAL { ?r battkg:coreLevel ?core } OPTIONAL { ?r battkg:xraySource ?source }""")
    assert len(regions) == len(expected)
    by_block = {r["block"]: r for r in regions}
    hv = dict((block, value) for value, block in _parameter(repo, result, "ExcitationEnergy"))
    blocks = [block for block, name in arrays if name == "binding_energy"]
    matched: set[str] = set()
    for exp in expected:
        # Blocks are matched by name where the oracle names them, else in file order.
        block = next(b for b in blocks if b not in matched and (exp["name"] is None or exp["name"] in b))
        matched.add(block)
        be = _values(arrays, block, "binding_energy", "BindingEnergy")
        y = _values(arrays, block, "intensity", "SpectralIntensity")
        assert be.size == y.size == exp["n"] == int(by_block[block]["n"])
        assert be[0] == pytest.approx(exp["be_first"], abs=1e-4)
        assert be[-1] == pytest.approx(exp["be_last"], abs=1e-4)
        if "y_first" in exp:
            assert y[0] == pytest.approx(exp["y_first"], rel=1e-6)
            assert y[-1] == pytest.approx(exp["y_last"], rel=1e-6)
        assert hv[block] == pytest.approx(exp["hv"])
        region = by_block[block]
        assert region["kind"] == ("survey" if be.max() - be.min() > 400 or "Wide" in block or "Survey" in block
                                  else "high-resolution")
        match = re.match(r"^([A-Z][a-z]?) ?(\d[spdf])", block)
        if match:  # a block named after a core level is described as that core level
            assert region["core"] == f"{match.group(1)} {match.group(2)}"
        if 1486.5 < exp["hv"] < 1486.8:
            assert region["source"] == "Al Kα"
    assert {"SurfaceComposition", "BindingEnergy"} <= {
        r["o"].rsplit("#", 1)[-1] for r in _select(repo, result, "?m battkg:hasObservable ?o")}


@requires_shared_samples
def test_xps_ibw_is_refused_clearly_and_nothing_stored(repo: Repository) -> None:
    (entry,) = manifest_entries("xps", formats=("scienta-igor-ibw",))
    before = snapshot(repo)
    with pytest.raises(FormatError, match="no xps reader recognises this file") as info:
        _ingest_sample(repo, "xps", sample_path(entry.values[0]))
    assert str(sample_path(entry.values[0])) in str(info.value)
    assert snapshot(repo) == before


@requires_shared_samples
def test_aes_vamas_is_refused_not_labelled_xps(repo: Repository, tmp_path: Path) -> None:
    text = (SAMPLES / "xps/xylib_mjr9_116a.vms").read_text(encoding="latin-1")
    aes = tmp_path / "aes.vms"
    aes.write_text(re.sub(r"(?m)^XPS$", "AES dir", text), encoding="latin-1")
    before = snapshot(repo)
    with pytest.raises(MetadataError) as info:
        _ingest_sample(repo, "xps", aes)
    message = str(info.value)
    assert str(aes) in message and "technique" in message and "AES dir" in message and "not XPS" in message
    assert snapshot(repo) == before


@requires_shared_samples
def test_xps_source_energy_from_user_when_file_lacks_it_and_file_wins_otherwise(repo: Repository,
                                                                               tmp_path: Path) -> None:
    text = (SAMPLES / "xps/pynxtools_scienta_Ag_0001.txt").read_text(encoding="latin-1")
    no_hv = tmp_path / "no_hv.txt"
    no_hv.write_text("\n".join(l for l in text.splitlines() if not l.startswith("Excitation Energy")),
                     encoding="latin-1")
    with pytest.raises(MetadataError, match="excitation-energy") as info:
        _ingest_sample(repo, "xps", no_hv)
    assert str(no_hv) in str(info.value)
    given = ingest_file(repo, "xps", no_hv, UserMetadata(sample="Ag", quantities=[
        ScalarQuantity("ExcitationEnergy", 520.0, "eV")]))
    assert [v for v, _ in _parameter(repo, given, "ExcitationEnergy")] == [520.0]
    # The file states 520 eV: a user default of 1486.6 eV is reported and not stored.
    conflict = ingest_file(repo, "xps", SAMPLES / "xps/pynxtools_scienta_Ag_0001.txt", UserMetadata(
        sample="Ag", quantities=[ScalarQuantity("ExcitationEnergy", 1486.6, "eV")]))
    assert [v for v, _ in _parameter(repo, conflict, "ExcitationEnergy")] == [520.0]
    assert any(w.startswith("conflict: ExcitationEnergy") for w in conflict.warnings)


# ---------------------------------------------------------------------------------------- Raman


@requires_shared_samples
@pytest.mark.parametrize("entry", manifest_entries("raman"))
def test_raman_record_matches_oracle(repo: Repository, entry: dict[str, Any]) -> None:
    result = _ingest_sample(repo, "raman", sample_path(entry))
    oracle = raman_oracle(entry)
    arrays = _arrays(repo, result)
    shift = _values(arrays, "spectrum", "raman_shift", "RamanShift")
    intensity = _values(arrays, "spectrum", "intensity", "SpectralIntensity")
    assert shift.size == oracle["n_points"]
    assert shift[0] == pytest.approx(oracle["x_first"], rel=1e-5, abs=1e-3)
    assert shift[-1] == pytest.approx(oracle["x_last"], rel=1e-5, abs=1e-3)
    assert intensity.flat[0] == pytest.approx(oracle["y_first"], rel=1e-5, abs=1e-3)
    assert intensity.flat[-1] == pytest.approx(oracle["y_last"], rel=1e-5, abs=1e-3)
    (activity,) = _select(repo, result, """?m a chameo:RamanSpectroscopy ; battkg:numberOfSpectra ?n ;
        battkg:hasObservable battkg:VibrationalModes . OPTIONAL { ?m battkg:mapGrid ?grid }""")
    assert int(activity["n"]) == oracle["n_spectra"]
    laser = _parameter(repo, result, "LaserWavelength")
    assert len(laser) == 1
    assert laser[0][0] == pytest.approx(entry["oracle"].get("laser_wavelength_nm", LASER_NM), rel=1e-6)
    if oracle["n_spectra"] > 1:  # a map keeps its stage coordinates and says its grid
        assert intensity.shape == (oracle["n_spectra"], oracle["n_points"])
        for axis in ("map_x", "map_y"):
            assert _values(arrays, "spectrum", axis, "Length").shape == (oracle["n_spectra"],)
        nx, ny = (int(v) for v in activity["grid"].split(","))
        assert nx * ny >= oracle["n_spectra"] or max(nx, ny) == oracle["n_spectra"]
    else:
        assert "grid" not in activity


@requires_shared_samples
def test_raman_without_laser_wavelength_is_a_shape_violation_naming_the_option(repo: Repository) -> None:
    before = snapshot(repo)
    with pytest.raises(ShapeViolation) as info:
        ingest_file(repo, "raman", SAMPLES / "raman/datalab_raman_example.txt", UserMetadata(sample="S-1"))
    assert "laser wavelength" in str(info.value) and "--laser-wavelength" in str(info.value)
    assert "shapes/raman.ttl" in str(info.value)
    assert snapshot(repo) == before


# ----------------------------------------------------------------------------------------- FTIR


@requires_shared_samples
@pytest.mark.parametrize("entry", manifest_entries("ftir"))
def test_ftir_record_matches_oracle(repo: Repository, entry: dict[str, Any]) -> None:
    result = _ingest_sample(repo, "ftir", sample_path(entry))
    oracle = ftir_oracle(entry)
    ordinate = _oracle_ordinate(entry)
    arrays = _arrays(repo, result)
    block = next(block for block, name in arrays if name == "wavenumber")  # the first spectrum
    wavenumber = _values(arrays, block, "wavenumber", "Wavenumber")
    y = _values(arrays, block, ordinate, ordinate.capitalize())
    assert wavenumber.size == y.size == oracle["n_points"]
    assert wavenumber[0] == pytest.approx(oracle["x_first"], rel=1e-5, abs=1e-3)
    assert wavenumber[-1] == pytest.approx(oracle["x_last"], rel=1e-5, abs=1e-3)
    assert y[0] == pytest.approx(oracle["y_first"], rel=1e-5, abs=1e-3)
    assert y[-1] == pytest.approx(oracle["y_last"], rel=1e-5, abs=1e-3)
    (activity,) = _select(repo, result, """?m a chameo:FourierTransformInfraredSpectroscopy ; battkg:ordinate ?o ;
        battkg:ordinateSource ?src ; battkg:hasObservable battkg:VibrationalModes""")
    assert activity["o"] == ordinate and activity["src"] != "the user"
    starts = [v for v, _ in _parameter(repo, result, "Wavenumber")]
    assert sorted(starts) == pytest.approx(sorted([wavenumber[0], wavenumber[-1]]))


def _asp(path: Path, y_type: int, values: list[float]) -> Path:
    """A MicroLab/GRAMS .asp file written from the format's specification."""
    path.write_text("\n".join([str(len(values)), "4000.0", "650.0", "1", str(y_type), "4", *map(str, values)]) + "\n")
    return path


def test_ftir_unknown_ordinate_needs_the_user_and_is_then_relabelled(repo: Repository, tmp_path: Path) -> None:
    path = _asp(tmp_path / "unknown.asp", 0, [0.1, 0.4, 0.2, 0.05])
    before = snapshot(repo)
    with pytest.raises(MetadataError) as info:
        ingest_file(repo, "ftir", path, UserMetadata(sample="S-1"))
    assert str(path) in str(info.value) and "'ordinate'" in str(info.value) and "--ordinate" in str(info.value)
    assert snapshot(repo) == before
    (path.parent / (path.name + ".meta.yaml")).write_text("sample: S-1\nordinate: Absorbance\n")
    result = ingest_file(repo, "ftir", path, user_metadata("ftir", path))
    arrays = _arrays(repo, result)
    np.testing.assert_allclose(_values(arrays, "spectrum", "absorbance", "Absorbance"), [0.1, 0.4, 0.2, 0.05])
    (activity,) = _select(repo, result, "?m battkg:ordinate ?o ; battkg:ordinateSource ?src")
    assert activity["o"] == "absorbance" and "user" in activity["src"]


def test_ftir_file_ordinate_wins_over_the_user_and_the_conflict_is_reported(repo: Repository, tmp_path: Path) -> None:
    path = _asp(tmp_path / "abs.asp", 2, [0.1, 0.4, 0.2])
    result = ingest_file(repo, "ftir", path, UserMetadata(sample="S-1", fields={"ordinate": "transmittance"}))
    (activity,) = _select(repo, result, "?m battkg:ordinate ?o")
    assert activity["o"] == "absorbance"
    assert any(w.startswith("conflict: ordinate given as 'transmittance'") for w in result.warnings)


def test_ftir_ordinate_outside_the_allowed_words_is_refused(tmp_path: Path) -> None:
    path = _asp(tmp_path / "x.asp", 0, [0.1, 0.2])
    with pytest.raises(MetadataError, match="must be one of absorbance, transmittance, reflectance"):
        user_metadata("ftir", path, {"sample": "S", "ordinate": "intensity"})


def test_cli_ingest_ftir_with_ordinate_option(tmp_path: Path) -> None:
    from battkg.cli import app

    path = _asp(tmp_path / "cli.asp", 0, [0.3, 0.2, 0.1])
    store = str(tmp_path / "store")
    runner = CliRunner()
    refused = runner.invoke(app, ["ingest", "ftir", str(path), "--sample", "S-1", "--store", store])
    assert refused.exit_code == 1 and "ordinate" in refused.output
    done = runner.invoke(app, ["ingest", "ftir", str(path), "--sample", "S-1", "--ordinate", "absorbance",
                               "--store", store])
    assert done.exit_code == 0, done.output
    assert "created" in done.output


# -------------------------------------------------------------------------------- bad input


def _mutated(tmp_path: Path, sample: str, name: str, change: Any) -> Path:
    data = (SAMPLES / sample).read_bytes()
    out = tmp_path / name
    out.write_bytes(change(data))
    return out


def _replace_line(pattern: str, replacement: str) -> Any:
    def change(data: bytes) -> bytes:
        text = data.decode("latin-1")
        lines = text.split("\n")
        index = next(i for i in range(len(lines) - 1, -1, -1) if re.fullmatch(pattern, lines[i].strip()))
        lines[index] = replacement
        return "\n".join(lines).encode("latin-1")
    return change


BAD_INPUT = [
    # (technique, sample, new name, change, what the message must say)
    ("xps", "xps/pynxtools_regular.vms", "bad.vms", _replace_line(r"-?[\d.]+(E[-+]?\d+)?", "12.x"), "line"),
    ("xps", "xps/pynxtools_regular.vms", "bad.vms", lambda d: b"VAMOS" + d[5:], "VAMAS"),
    ("xps", "xps/pynxtools_scienta_Ag_0001.txt", "bad.txt", _replace_line(r"[\d.E+-]+\s+[\d.E+-]+", "3.64E+0002  abc"),
     "line"),
    ("xps", "xps/phi_test0.spe", "bad.spe", lambda d: d[: len(d) - 4000], "truncated"),
    ("raman", "raman/wire_sp.wdf", "bad.wdf", lambda d: d[: len(d) // 2], "truncated"),
    ("raman", "raman/wire_sp.wdf", "bad.wdf", lambda d: b"WDF2" + d[4:], "magic"),
    ("raman", "raman/labspec_SMC1-Initial_RT.txt", "bad.txt", _replace_line(r"[\d.]+\t[\d.]+", "12.5\tten"), "line"),
    ("ftir", "ftir/galactic_BENZENE.SPC", "bad.spc", lambda d: d[:3000], "truncated"),
    ("ftir", "ftir/jcamp_PE1800.DX", "bad.dx", lambda d: d.replace(b"##NPOINTS=3301", b"##NPOINTS=3305"),
     "NPOINTS grid"),
    ("ftir", "ftir/datalab_FTIRText020.jdx.txt", "bad.jdx.txt", _replace_line(r"[\d.]+\s+[\d.]+", "401.1 x"),
     "line"),
]


@requires_shared_samples
@pytest.mark.parametrize("technique, sample, name, change, fragment", BAD_INPUT,
                         ids=[f"{s}:{f}" for _t, s, _n, _c, f in BAD_INPUT])
def test_bad_input_names_file_and_place_and_stores_nothing(repo: Repository, tmp_path: Path, technique: str,
                                                           sample: str, name: str, change: Any, fragment: str) -> None:
    path = _mutated(tmp_path, sample, name, change)
    before = snapshot(repo)
    with pytest.raises(FormatError) as info:
        _ingest_sample(repo, technique, path)
    message = str(info.value)
    assert str(path) in message and fragment in message
    assert info.value.line is not None or info.value.field is not None or "truncated" in message
    assert snapshot(repo) == before


@pytest.mark.parametrize("content, fragment", [
    ("3\n4000\n650\n1\n2\n4\n0.1\n0.2\n", "inconsistent point counts"),
    ("0\n4000\n650\n1\n2\n4\n", "empty spectrum"),
    ("2\n4000\n650\n1\n2\n4\n0.1\n0,2x\n", "Y value"),
    ("x\n4000\n650\n1\n2\n4\n0.1\n0.2\n", "not an ASP file"),
])
def test_bad_asp_is_refused_with_nothing_stored(repo: Repository, tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "bad.asp"
    path.write_text(content)
    before = snapshot(repo)
    with pytest.raises(FormatError, match=fragment) as info:
        ingest_file(repo, "ftir", path, UserMetadata(sample="S-1", fields={"ordinate": "absorbance"}))
    assert str(path) in str(info.value)
    assert snapshot(repo) == before


# ------------------------------------------------------------------------------------ shapes


def _record_triples(repo: Repository, result: IngestResult) -> list[Any]:
    import pyoxigraph as ox

    return [ox.Triple(q.subject, q.predicate, q.object) for q in repo.graphs.graph_quads(result.record_iri)]


def _violations(triples: list[Any], iri: str) -> str:
    with pytest.raises(ShapeViolation) as info:
        validate_graph(triples, iri)
    return str(info.value)


@requires_shared_samples
def test_shapes_reject_records_that_break_their_rules(repo: Repository) -> None:
    import pyoxigraph as ox

    vocab = "https://w3id.org/battkg/vocab#"
    xps = _ingest_sample(repo, "xps", SAMPLES / "xps/pynxtools_scienta_Ag_0001.txt")
    raman = _ingest_sample(repo, "raman", SAMPLES / "raman/wire_sp.wdf")
    ftir = _ingest_sample(repo, "ftir", SAMPLES / "ftir/jcamp_ethanol.jdx")
    for result in (xps, raman, ftir):  # the stored records conform
        assert validate_graph(_record_triples(repo, result), result.record_iri) == []

    def without_type(result: IngestResult, key: str) -> list[Any]:
        return [t for t in _record_triples(repo, result) if t.object != ox.NamedNode(vocab + key)]

    def retyped(result: IngestResult, predicate: str, old: str, new: ox.Literal | ox.NamedNode) -> list[Any]:
        return [ox.Triple(t.subject, t.predicate, new) if t.predicate.value == vocab + predicate and
                t.object.value == old else t for t in _record_triples(repo, result)]

    cases = [
        (without_type(xps, "ExcitationEnergy"), xps, "needs the X-ray source energy", "shapes/xps.ttl"),
        (retyped(xps, "regionKind", "high-resolution", ox.Literal("detail")), xps,
         "either 'survey' or 'high-resolution'", "shapes/xps.ttl"),
        (without_type(xps, "BindingEnergy"), xps, "needs a binding-energy array", "shapes/xps.ttl"),
        (without_type(raman, "LaserWavelength"), raman, "needs exactly one laser wavelength", "shapes/raman.ttl"),
        (without_type(raman, "RamanShift"), raman, "needs a Raman-shift array", "shapes/raman.ttl"),
        (retyped(ftir, "ordinate", "transmittance", ox.Literal("intensity")), ftir, "states exactly one ordinate",
         "shapes/ftir.ttl"),
        (retyped(ftir, "quantityKind", vocab + "Transmittance", ox.NamedNode(vocab + "SpectralIntensity")), ftir,
         "not a bare intensity", "shapes/ftir.ttl"),
    ]
    for triples, result, message, shape_file in cases:
        text = _violations(triples, result.record_iri)
        assert message in text and shape_file in text, text


# ------------------------------------------------------------------------------------- CQ4


@requires_shared_samples
def test_cq4_finds_each_technique_by_what_it_measures(repo: Repository, tmp_path: Path) -> None:
    records = {
        "xrd": ingest(repo, write_xy(tmp_path / "p.xy")).record_iri,
        "xps": _ingest_sample(repo, "xps", SAMPLES / "xps/xylib_mjr9_116a.vms").record_iri,
        "raman": _ingest_sample(repo, "raman", SAMPLES / "raman/labspec_SMC1-Initial_RT.txt").record_iri,
        "ftir": _ingest_sample(repo, "ftir", SAMPLES / "ftir/opus_test.0000").record_iri,
    }

    def found(observable: str) -> set[str]:
        rows = run(repo, "experiments-by-observable", {"observable": observable}).rows
        return {tech for tech, iri in records.items() if any(row[0].value == iri for row in rows)}

    assert found("binding energy") == {"xps"}
    assert found("surface composition") == {"xps"}
    assert found("vibrational modes") == {"raman", "ftir"}
    assert found("crystal structure") == {"xrd"}
    assert found("lattice") == {"xrd"}
    assert found("VibrationalModes") == {"raman", "ftir"}


# ------------------------------------------------------------------------------ conditions


@requires_shared_samples
def test_conditions_from_a_sidecar_reach_a_raman_record(repo: Repository, tmp_path: Path) -> None:
    path = tmp_path / "operando.wdf"
    path.write_bytes((SAMPLES / "raman/wire_sp.wdf").read_bytes())
    (tmp_path / "operando.wdf.meta.json").write_text(json.dumps({
        "sample": "LNO-019", "conditions": {"temperature": "25 degC", "atmosphere": "argon", "mode": "operando",
                                            "cell_type": "ECC-Opto-Std"}}))
    result = ingest_file(repo, "raman", path, user_metadata("raman", path))
    triples = {(t.predicate.value.rsplit("#", 1)[-1], getattr(t.object, "value", ""))
               for t in _record_triples(repo, result)}
    values = {value for _predicate, value in triples}
    assert {"argon", "operando", "ECC-Opto-Std"} <= values
    assert any(abs(float(v) - 298.15) < 1e-6 for p, v in triples if re.fullmatch(r"-?\d+(\.\d+)?([eE]-?\d+)?", v or ""))
