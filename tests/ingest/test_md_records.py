"""MD through the whole ingest path: simulation records vs the MANIFEST oracle, transport, shapes, bad input.

Every ``shared/samples/md`` file is ingested into a fresh store and the record
(graph + HDF5) is compared with the oracle.  The transport test writes a
LAMMPS dump of random walks with known diffusion coefficients, so the
expected D and the Nernst–Einstein conductivity come from the generator's
parameters, not from the code under test.
"""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from battkg.errors import FormatError, MetadataError, ShapeViolation
from battkg.ingest.pipeline import IngestResult, ingest_file, user_metadata
from battkg.ingest.technique import UserMetadata
from battkg.readers import ScalarQuantity
from battkg.store import Repository, open_repository
from battkg.validation import validate_graph
from tests.conftest import manifest_entries, requires_shared_samples, sample_path
from tests.helpers import snapshot

BOX_KEYS = ("BoxLengthA", "BoxLengthB", "BoxLengthC", "BoxAngleAlpha", "BoxAngleBeta", "BoxAngleGamma")
VOCAB = "https://w3id.org/battkg/vocab#"
HAS_INPUT = "https://w3id.org/emmo#EMMO_36e69413_8c59_4799_946c_10b05d266e22"
E_CHARGE, K_B = 1.602176634e-19, 1.380649e-23
TIME, TEMPERATURE = "EMMO_d4f7d378_5e3b_468a_baa1_a7e98358cda7", "EMMO_affe07e4_e9bc_4852_86c6_69e26182a17f"


@pytest.fixture
def store(tmp_path: Path) -> Repository:
    repo = open_repository(tmp_path / "store")
    yield repo
    repo.close()


def _options(entry: dict[str, Any]) -> dict[str, Any]:
    """Topology and atom_style as the MANIFEST entry names them."""
    path = sample_path(entry)
    options: dict[str, Any] = {}
    topology = re.search(r"\(topology: ([^)]+)\)", entry["format"])
    if topology:
        options["topology"] = str(path.parent / topology.group(1))
    style = re.search(r"atom_style='([^']+)'", entry["oracle"]["reader"])
    if style:
        options["atom_style"] = style.group(1)
    return options


def _ingest_sample(repo: Repository, entry: dict[str, Any]) -> IngestResult:
    # XYZ and dumps without ITEM: TIME store no time: the frame interval is what a user would have to give
    # (a file that stores times keeps its own value; the record notes the conflict).
    quantities = [ScalarQuantity("Timestep", 1.0, "ps", "between frames")]
    return ingest_file(repo, "md", sample_path(entry), UserMetadata(sample="system-1", quantities=quantities),
                       reader_options=_options(entry) or None)


def _activity(repo: Repository, result: IngestResult) -> dict[str, Any]:
    rows = list(repo.graphs.query(f"""
        SELECT ?p ?o WHERE {{ GRAPH <{result.record_iri}> {{ <{result.record_iri}> battkg:describes ?a . ?a ?p ?o }} }}""",
                                  graphs=None))
    out: dict[str, Any] = {}
    for row in rows:
        out.setdefault(row["p"].value, []).append(row["o"].value)
    return out


def _inputs(repo: Repository, iri: str, subject: str = "?a") -> dict[tuple[str, str | None], float]:
    """(quantity local name, role) -> value of the hasInput quantities of the simulation (or ``subject``)."""
    bind = f"<{iri}> battkg:describes ?a ." if subject == "?a" else ""
    rows = repo.graphs.query(f"""
        SELECT ?cls ?role ?v WHERE {{ GRAPH <{iri}> {{ {bind}
          {subject} <{HAS_INPUT}> ?q . ?q a ?cls ; emmo:EMMO_8ef3cd6d_ae58_4a8d_9fc0_ad8f49015cd0/emmo:EMMO_faf79f53_749d_40b2_807c_d34244c192f4 ?v .
          OPTIONAL {{ ?q battkg:role ?role }}
          FILTER(?cls NOT IN (emmo:EMMO_d8aa8e1f_b650_416d_88a0_5118de945456)) }} }}""", graphs=None)
    return {(r["cls"].value.split("#")[-1], r["role"].value if r["role"] else None): float(r["v"].value) for r in rows}


def _h5(repo: Repository, result: IngestResult) -> h5py.File:
    (row,) = list(repo.graphs.query(f"""SELECT ?sha WHERE {{ GRAPH <{result.record_iri}> {{
        ?d battkg:hasArray ?x ; battkg:sha256 ?sha }} }} LIMIT 1""", graphs=None))
    return h5py.File(repo.blobs.path_of(row["sha"].value), "r")


TRAJECTORIES = manifest_entries("md", formats=("xyz", "gromacs", "lammps-data", "lammps-dump", "h5md", "pdb"))
LOGS = manifest_entries("md", formats=("lammps-log",))


@requires_shared_samples
@pytest.mark.parametrize("entry", TRAJECTORIES)
def test_trajectory_record_matches_oracle(store: Repository, entry: dict[str, Any]) -> None:
    result = _ingest_sample(store, entry)
    activity = _activity(store, result)
    assert VOCAB + "MolecularDynamicsSimulation" in activity["http://www.w3.org/1999/02/22-rdf-syntax-ns#type"]
    assert int(activity[VOCAB + "numberOfAtoms"][0]) == entry["oracle"]["n_atoms"]
    assert int(activity[VOCAB + "numberOfFrames"][0]) == entry["oracle"]["n_frames"]
    assert activity["https://w3id.org/emmo#EMMO_ad0bdf66_93c4_4a4d_8e1d_57ec850b1741"]  # hasSimulatedObject
    inputs = _inputs(store, result.record_iri)
    box = next((o["box_frame0"] for o in [entry["oracle"], *entry.get("cross_checks", [])] if "box_frame0" in o), None)
    if box is not None:
        assert [inputs[(k, None)] for k in BOX_KEYS] == pytest.approx(box, abs=2e-3)
    formula = next((o["formula_frame0"] for o in [entry["oracle"], *entry.get("cross_checks", [])]
                    if "formula_frame0" in o), None)
    if formula is not None:
        counts = {role: int(v) for (cls, role), v in inputs.items() if cls == "EMMO_41efdf5d_0c9c_4ea0_bb65_f8236e663be5"}
        assert counts == {el: int(n or 1) for el, n in re.findall(r"([A-Z][a-z]?)(\d*)", formula)}
    stores_time = entry["format"].startswith(("gromacs", "h5md"))  # others: MDAnalysis' default dt, not data
    if stores_time and "dt_ps" in entry["oracle"] and entry["oracle"]["n_frames"] > 1:
        assert inputs[("Timestep", "between frames")] == pytest.approx(entry["oracle"]["dt_ps"], rel=1e-5)
    if stores_time and "time_last_ps" in entry["oracle"] and entry["oracle"]["n_frames"] > 1:
        expected = entry["oracle"]["time_last_ps"] - entry["oracle"]["time_first_ps"]
        assert inputs[("SimulatedTime", None)] == pytest.approx(expected, rel=1e-5)


@requires_shared_samples
@pytest.mark.parametrize("entry", LOGS)
def test_lammps_log_record_matches_oracle(store: Repository, entry: dict[str, Any]) -> None:
    result = _ingest_sample(store, entry)
    activity = _activity(store, result)
    oracle = entry["oracle"]
    assert int(activity[VOCAB + "numberOfThermoRows"][0]) == oracle["n_points"]
    assert activity[VOCAB + "reducedUnits"] == ["true"]  # every sample log is units lj
    with _h5(store, result) as h5:
        runs = [h5[name] for name in h5 if name.startswith("run ")]
        if "runs" in oracle:
            expected = [(r["Temp"]["first"], r["Temp"]["last"]) for r in oracle["runs"]]
        else:
            expected = [(r["Temp_first"], r["Temp_last"]) for r in oracle["multi_runs"]]
        got = [float(v) for g in runs for v in (g["temperature"][0], g["temperature"][-1])]
        assert got == pytest.approx([v for pair in expected for v in pair], rel=1e-6)
        assert all(g["temperature"].attrs["quantity"] == "ThermodynamicTemperature" for g in runs)


# ------------------------------------------------------------------------------------- transport

D_TRUE = {"Li": 0.08, "P": 0.03, "F": 0.05}  # Å²/ps
COUNTS = {"Li": 120, "P": 120, "F": 40}
BOX, DT_PS, FRAMES, T_K = 25.0, 0.5, 160, 300.0


def write_random_walk_dump(path: Path, *, frames: int = FRAMES, seed: int = 7) -> Path:
    """A LAMMPS dump (units metal, wrapped x y z) of 3D random walks with diffusion coefficients D_TRUE."""
    rng = np.random.default_rng(seed)
    labels = [s for s, n in COUNTS.items() for _ in range(n)]
    sigma = np.array([math.sqrt(2 * D_TRUE[s] * DT_PS) for s in labels])[:, None]
    position = rng.uniform(0, BOX, (len(labels), 3))
    with path.open("w") as fh:
        for k in range(frames):
            if k:
                position = position + rng.normal(size=position.shape) * sigma
            wrapped = np.mod(position, BOX)
            fh.write(f"ITEM: UNITS\nmetal\nITEM: TIME\n{k * DT_PS}\nITEM: TIMESTEP\n{k * 500}\n"
                     f"ITEM: NUMBER OF ATOMS\n{len(labels)}\nITEM: BOX BOUNDS pp pp pp\n"
                     + f"0 {BOX}\n" * 3 + "ITEM: ATOMS id element x y z\n")
            fh.writelines(f"{i + 1} {s} {x:.5f} {y:.5f} {z:.5f}\n" for i, (s, (x, y, z)) in enumerate(zip(labels, wrapped)))
    return path


def test_transport_recovers_known_diffusion_and_nernst_einstein(store: Repository, tmp_path: Path) -> None:
    dump = write_random_walk_dump(tmp_path / "walk.lammpstrj")
    user = UserMetadata(sample="LiPF6 model", quantities=[ScalarQuantity("ThermodynamicTemperature", T_K, "kelvin",
                                                                         "thermostat")])
    result = ingest_file(store, "md", dump, user, reader_options={"transport": {"Li": 1.0, "P": -1.0, "F": None}})
    (analysis,) = [r["a"].value for r in store.graphs.query(f"""SELECT ?a WHERE {{ GRAPH <{result.record_iri}> {{
        ?a a battkg:TransportAnalysis ; prov:wasInformedBy ?sim . ?sim a battkg:MolecularDynamicsSimulation }} }}""",
                                                            graphs=None)]
    outputs = {(r["cls"].value.split("#")[-1], r["role"].value): float(r["v"].value) for r in store.graphs.query(
        f"""SELECT ?cls ?role ?v WHERE {{ GRAPH <{result.record_iri}> {{ <{analysis}> emmo:EMMO_c4bace1d_4db0_4cd3_87e9_18122bae2840 ?q .
        ?q a ?cls ; battkg:role ?role ; emmo:EMMO_8ef3cd6d_ae58_4a8d_9fc0_ad8f49015cd0/emmo:EMMO_faf79f53_749d_40b2_807c_d34244c192f4 ?v .
        FILTER(?cls != emmo:EMMO_873b0ab3_88e6_4054_b901_5531e01f14a4) }} }}""", graphs=None)}
    d = {s: outputs[("EMMO_931a725b_926d_4f60_8955_61fe17fce98b", s)] for s in D_TRUE}  # m²/s
    for species, true in D_TRUE.items():  # 120 walkers, 160 frames: the fit is within 10 % (seeded)
        assert d[species] == pytest.approx(true * 1e-8, rel=0.10), species
    sigma = outputs[("electrochemistry_25dabdc2_68bf_4a38_8cbe_11be017358bc", "Nernst-Einstein")]
    volume_m3 = (BOX * 1e-10) ** 3
    by_hand = E_CHARGE**2 / (volume_m3 * K_B * T_K) * (COUNTS["Li"] * d["Li"] + COUNTS["P"] * d["P"])
    assert sigma == pytest.approx(by_hand, rel=1e-6)  # F has no charge: D only, no conductivity term
    expected = E_CHARGE**2 / (volume_m3 * K_B * T_K) * 1e-8 * (COUNTS["Li"] * D_TRUE["Li"] + COUNTS["P"] * D_TRUE["P"])
    assert sigma == pytest.approx(expected, rel=0.10)
    inputs = _inputs(store, result.record_iri, f"<{analysis}>")
    window = (inputs[(TIME, "fit window start")] * 1e12, inputs[(TIME, "fit window end")] * 1e12)  # s -> ps
    lag_max = (FRAMES - 1) * DT_PS
    assert window[0] == pytest.approx(0.2 * lag_max, abs=DT_PS) and window[1] == pytest.approx(0.8 * lag_max, abs=DT_PS)
    sim_inputs = _inputs(store, result.record_iri)
    assert sim_inputs[(TEMPERATURE, "thermostat")] == T_K  # where the CQ7 query looks
    with _h5(store, result) as h5:
        assert set(h5["msd"]) == {"lag_time", "msd_Li", "msd_P", "msd_F"}
        lag, msd = h5["msd/lag_time"][()], h5["msd/msd_Li"][()] * 100  # nm² -> Å²
        middle = len(lag) // 2
        assert msd[middle] == pytest.approx(6 * D_TRUE["Li"] * lag[middle], rel=0.15)
        assert "positions" not in h5  # coordinates only with store_positions


def test_store_positions_and_transport_keep_every_atom(store: Repository, tmp_path: Path) -> None:
    dump = write_random_walk_dump(tmp_path / "walk.lammpstrj", frames=6)
    result = ingest_file(store, "md", dump, UserMetadata(sample="s"),
                         reader_options={"transport": {"F": None}, "store_positions": True})
    with _h5(store, result) as h5:
        assert h5["positions/positions"].shape == (6, sum(COUNTS.values()), 3)
        assert set(h5["msd"]) == {"lag_time", "msd_F"}


def test_formulation_sidecar_links_the_simulated_system(store: Repository, tmp_path: Path) -> None:
    from battkg.formulation import parse_formulation

    dump = write_random_walk_dump(tmp_path / "walk.lammpstrj", frames=6)
    components = [{"name": "LiPF6", "amount": 0.1, "kind": "molPerMol"}, {"name": "EC", "amount": 0.45, "kind": "molPerMol"},
                  {"name": "EMC", "amount": 0.45, "kind": "molPerMol"}]
    (tmp_path / "walk.lammpstrj.meta.yaml").write_text(
        "temperature: 298.15\nensemble: NVT\nforce_field: OPLS-AA\nformulation:\n"
        + "".join(f"  - {{name: {c['name']}, amount: {c['amount']}, kind: {c['kind']}}}\n" for c in components))
    user = user_metadata("md", dump)
    result = ingest_file(store, "md", dump, user)
    expected = parse_formulation(components)
    rows = list(store.graphs.query(f"""SELECT ?sample ?label ?ff WHERE {{ GRAPH <{result.record_iri}> {{
        ?sim a battkg:MolecularDynamicsSimulation ; emmo:EMMO_ad0bdf66_93c4_4a4d_8e1d_57ec850b1741 ?sample ;
             battkg:forceField ?ff . ?sample battkg:hasFormulation <{expected.iri}> ; rdfs:label ?label }} }}""",
                                   graphs=None))
    assert [(r["label"].value, r["ff"].value) for r in rows] == [(expected.label, "OPLS-AA")]


# ------------------------------------------------------------------------------------- shapes


def _stored_quads(store: Repository, result: IngestResult) -> list[Any]:
    return store.graphs.graph_quads(result.record_iri)


def test_multi_frame_trajectory_without_time_is_refused(store: Repository, tmp_path: Path) -> None:
    xyz = tmp_path / "two.xyz"
    xyz.write_text("2\nframe 0\nLi 0 0 0\nP 1 1 1\n2\nframe 1\nLi 0.1 0 0\nP 1 1.1 1\n")
    before = snapshot(store)
    with pytest.raises(ShapeViolation) as info:
        ingest_file(store, "md", xyz, UserMetadata(sample="s"))
    assert "timestep" in str(info.value) and "md.ttl" in str(info.value)
    assert snapshot(store) == before
    ingest_file(store, "md", xyz, UserMetadata(sample="s", quantities=[ScalarQuantity("Timestep", 2.0, "fs",
                                                                                       "integration")]))


def test_shapes_reject_records_without_atoms_or_fit_window(store: Repository, tmp_path: Path) -> None:
    import pyoxigraph as ox

    dump = write_random_walk_dump(tmp_path / "walk.lammpstrj", frames=8)
    result = ingest_file(store, "md", dump, UserMetadata(sample="s"), reader_options={"transport": {"Li": None}})
    quads = _stored_quads(store, result)
    validate_graph(quads, result.record_iri)  # the stored record conforms
    no_atoms = [q for q in quads if q.predicate != ox.NamedNode(VOCAB + "numberOfAtoms")]
    with pytest.raises(ShapeViolation, match="number of atoms"):
        validate_graph(no_atoms, result.record_iri)
    starts = {q.subject for q in quads if q.predicate == ox.NamedNode(VOCAB + "role") and q.object.value == "fit window start"}
    no_window = [q for q in quads if q.subject not in starts and q.object not in starts]
    with pytest.raises(ShapeViolation, match="fit window"):
        validate_graph(no_window, result.record_iri)
    no_d = [q for q in quads if not (q.predicate == ox.NamedNode(VOCAB + "role") and q.object.value == "Li")]
    with pytest.raises(ShapeViolation, match="diffusion coefficient"):
        validate_graph(no_d, result.record_iri)


# ------------------------------------------------------------------------------------- bad input


def test_truncated_dump_is_a_format_error_and_stores_nothing(store: Repository, tmp_path: Path) -> None:
    dump = write_random_walk_dump(tmp_path / "walk.lammpstrj", frames=4)
    lines = dump.read_text().splitlines(keepends=True)
    dump.write_text("".join(lines[: len(lines) - 50]))
    before = snapshot(store)
    with pytest.raises(FormatError) as info:
        ingest_file(store, "md", dump, UserMetadata(sample="s"), reader_options={"transport": {"Li": 1.0}})
    assert str(dump) in str(info.value) and "truncated" in str(info.value)
    assert snapshot(store) == before


@requires_shared_samples
def test_garbled_xtc_is_a_format_error_and_stores_nothing(store: Repository, tmp_path: Path) -> None:
    source = sample_path({"path": "md/mdanalysis_adk_oplsaa.xtc"})
    xtc = tmp_path / "cut.xtc"
    xtc.write_bytes(source.read_bytes()[: source.stat().st_size // 3])
    before = snapshot(store)
    with pytest.raises(FormatError, match="truncated or corrupt XTC"):
        ingest_file(store, "md", xtc, UserMetadata(sample="s"))
    assert snapshot(store) == before


@requires_shared_samples
def test_topology_with_another_atom_count_is_refused(store: Repository) -> None:
    dump = sample_path({"path": "md/mdanalysis_image_vf.lammpstrj"})
    topology = sample_path({"path": "md/mdanalysis_albite_triclinic.data"})
    before = snapshot(store)
    with pytest.raises(FormatError) as info:
        ingest_file(store, "md", dump, UserMetadata(sample="s"),
                    reader_options={"topology": str(topology), "atom_style": "id type x y z"})
    assert "17 atoms" in str(info.value) and "7" in str(info.value) and "topology" in str(info.value)
    assert snapshot(store) == before


def test_unknown_transport_species_names_what_is_there(store: Repository, tmp_path: Path) -> None:
    dump = write_random_walk_dump(tmp_path / "walk.lammpstrj", frames=6)
    before = snapshot(store)
    with pytest.raises(MetadataError) as info:
        ingest_file(store, "md", dump, UserMetadata(sample="s"), reader_options={"transport": {"Na": 1.0}})
    assert "'Na'" in str(info.value) and "Li, P, F" in str(info.value) and str(dump) in str(info.value)
    with pytest.raises(MetadataError, match="temperature"):  # Nernst–Einstein without a temperature
        ingest_file(store, "md", dump, UserMetadata(sample="s"), reader_options={"transport": {"Li": 1.0}})
    assert snapshot(store) == before


def test_cli_ingest_md_with_transport(tmp_path: Path) -> None:
    from battkg.cli import app

    dump = write_random_walk_dump(tmp_path / "walk.lammpstrj", frames=12)
    runner = CliRunner()
    args = ["ingest", "md", str(dump), "--sample", "model", "--temperature", "300", "--transport", "Li=+1",
            "--transport", "P=-1", "--store", str(tmp_path / "store")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    bad = runner.invoke(app, [*args[:-4], "--transport", "Li=plus", "--store", str(tmp_path / "store")])
    assert bad.exit_code != 0 and "SPECIES=CHARGE" in bad.output
