"""CHARMM/NAMD PSF + DCD, GROMACS .edr energies, and the identity of records with a topology.

Inputs are written here: the PSF by hand in the fixed-column standard format (CHARMM ``psfres.src``
layout ``I8,1X,A4,1X,A4,1X,A4,1X,A4,1X,A4,1X,2G14.6,I8``), the DCD with MDAnalysis' ``DCDWriter``,
so the expected atoms, species, frames, timestep and box come from what the test wrote.  The .edr
files are the GROMACS test files shipped inside ``pyedr`` (a declared runtime dependency); the
expected values come from ``gmx energy``'s ``.xvg`` export of the same file, shipped beside it, i.e.
from GROMACS itself, not from pyedr.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from battkg.errors import FormatError
from battkg.ingest.pipeline import IngestResult, ingest_file
from battkg.ingest.technique import UserMetadata
from battkg.store import Repository, open_repository
from tests.helpers import snapshot

VOCAB = "https://w3id.org/battkg/vocab#"
HAS_INPUT = "https://w3id.org/emmo#EMMO_36e69413_8c59_4799_946c_10b05d266e22"
BOX_KEYS = ("BoxLengthA", "BoxLengthB", "BoxLengthC", "BoxAngleAlpha", "BoxAngleBeta", "BoxAngleGamma")
NUMBER_OF_ENTITIES = "EMMO_41efdf5d_0c9c_4ea0_bb65_f8236e663be5"

# (atom name, CHARMM-style type, mass u, charge e, count): a LiPF6-like box with a few united-atom CH2.
ELECTROLYTE = [("LI", "LIT", 6.941, 1.0, 6), ("P", "PG", 30.974, 1.0, 3), ("F", "FG", 18.998, -1.0, 18),
               ("C", "CG", 12.011, 0.0, 9), ("H", "HG", 1.008, 0.0, 12)]
DCD_BOX = [24.0, 25.0, 26.0, 85.0, 95.0, 100.0]
DCD_FRAMES, DCD_NSAVC, DCD_FRAME_PS = 7, 250, 0.5


@pytest.fixture
def store(tmp_path: Path) -> Repository:
    repo = open_repository(tmp_path / "store")
    yield repo
    repo.close()


def write_psf(path: Path, atoms: list[tuple[str, str, float, float, int]], title: str = "test electrolyte") -> Path:
    """A standard-format PSF (no bonds) for ``atoms`` given as (name, type, mass, charge, count)."""
    rows = [(name, typ, mass, charge) for name, typ, mass, charge, n in atoms for _ in range(n)]
    lines = ["PSF", "", "       1 !NTITLE", f" REMARKS {title}", "", f"{len(rows):8d} !NATOM"]
    for i, (name, typ, mass, charge) in enumerate(rows, start=1):
        lines.append(f"{i:8d} {'ELY':<4} {i:<4d} {name:<4} {name:<4} {typ:<4} {charge:14.6f}{mass:14.4f}{0:8d}")
    for section in ("NBOND: bonds", "NTHETA: angles", "NPHI: dihedrals", "NIMPHI: impropers"):
        lines += ["", f"       0 !{section}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_dcd(path: Path, n_atoms: int, *, frames: int = DCD_FRAMES, box: list[float] | None = DCD_BOX,
              seed: int = 3) -> np.ndarray:
    """A DCD with a triclinic unit cell, DCD_FRAME_PS between frames, DCD_NSAVC steps per frame."""
    import MDAnalysis as mda
    from MDAnalysis.coordinates.DCD import DCDWriter

    rng = np.random.default_rng(seed)
    universe = mda.Universe.empty(n_atoms, trajectory=True)
    written = []
    with DCDWriter(str(path), n_atoms, dt=DCD_FRAME_PS, nsavc=DCD_NSAVC, istart=0) as writer:
        for _ in range(frames):
            xyz = rng.uniform(0, 20, (n_atoms, 3)).astype(np.float32)
            universe.atoms.positions = xyz
            universe.dimensions = box
            writer.write(universe.atoms)
            written.append(xyz)
    return np.stack(written)


def _inputs(repo: Repository, iri: str) -> dict[tuple[str, str | None], float]:
    rows = repo.graphs.query(f"""
        SELECT ?cls ?role ?v WHERE {{ GRAPH <{iri}> {{ <{iri}> battkg:describes ?a .
          ?a <{HAS_INPUT}> ?q . ?q a ?cls ; emmo:EMMO_8ef3cd6d_ae58_4a8d_9fc0_ad8f49015cd0/emmo:EMMO_faf79f53_749d_40b2_807c_d34244c192f4 ?v .
          OPTIONAL {{ ?q battkg:role ?role }}
          FILTER(?cls NOT IN (emmo:EMMO_d8aa8e1f_b650_416d_88a0_5118de945456)) }} }}""", graphs=None)
    return {(r["cls"].value.split("#")[-1], r["role"].value if r["role"] else None): float(r["v"].value) for r in rows}


def _activity(repo: Repository, iri: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for row in repo.graphs.query(f"SELECT ?p ?o WHERE {{ GRAPH <{iri}> {{ <{iri}> battkg:describes ?a . ?a ?p ?o }} }}",
                                 graphs=None):
        out.setdefault(row["p"].value, []).append(row["o"].value)
    return out


def _h5(repo: Repository, result: IngestResult) -> h5py.File:
    (row,) = list(repo.graphs.query(f"""SELECT ?sha WHERE {{ GRAPH <{result.record_iri}> {{
        ?d battkg:hasArray ?x ; battkg:sha256 ?sha }} }} LIMIT 1""", graphs=None))
    return h5py.File(repo.blobs.path_of(row["sha"].value), "r")


# ------------------------------------------------------------------------------------ PSF + DCD


def test_psf_dcd_record_has_atoms_species_frames_timestep_and_box(store: Repository, tmp_path: Path) -> None:
    psf = write_psf(tmp_path / "system.psf", ELECTROLYTE)
    n_atoms = sum(n for *_, n in ELECTROLYTE)
    written = write_dcd(tmp_path / "traj.dcd", n_atoms)
    result = ingest_file(store, "md", tmp_path / "traj.dcd", UserMetadata(sample="LiPF6 box"),
                         reader_options={"topology": str(psf), "store_positions": True})
    assert result.format_id == "md.charmm.dcd"
    activity = _activity(store, result.record_iri)
    assert int(activity[VOCAB + "numberOfAtoms"][0]) == n_atoms
    assert int(activity[VOCAB + "numberOfFrames"][0]) == DCD_FRAMES
    inputs = _inputs(store, result.record_iri)
    assert [inputs[(k, None)] for k in BOX_KEYS] == pytest.approx(DCD_BOX, abs=1e-4)
    # every PSF mass is a standard atomic weight: species are elements
    counts = {role: int(v) for (cls, role), v in inputs.items() if cls == NUMBER_OF_ENTITIES}
    assert counts == {"Li": 6, "P": 3, "F": 18, "C": 9, "H": 12}
    # in ps: frame interval 0.5 ps, integration step 0.5 ps / 250 = 2 fs
    assert inputs[("Timestep", "between frames")] == pytest.approx(DCD_FRAME_PS, rel=1e-6)
    assert inputs[("Timestep", "integration")] == pytest.approx(DCD_FRAME_PS / DCD_NSAVC, rel=1e-6)
    assert inputs[("SimulatedTime", None)] == pytest.approx((DCD_FRAMES - 1) * DCD_FRAME_PS, rel=1e-6)
    with _h5(store, result) as h5:
        assert h5["frames/step"][:].tolist() == [k * DCD_NSAVC for k in range(DCD_FRAMES)]
        assert h5["positions/positions"][:] == pytest.approx(written, abs=1e-4)


def test_psf_with_united_atoms_gives_species_by_type(tmp_path: Path) -> None:
    from battkg.ingest.md import charmm

    atoms = [("LI", "LIT", 6.941, 1.0, 2), ("C2", "CH2E", 14.027, 0.0, 4)]  # CH2 united atom: no element
    psf = write_psf(tmp_path / "ua.psf", atoms, title="NAMD united-atom model")
    write_dcd(tmp_path / "ua.dcd", 6, frames=2, box=None)
    parsed = charmm.read(tmp_path / "ua.dcd", topology=tmp_path / "ua.psf")
    assert parsed.metadata["species_counts"] == {"LIT": 2, "CH2E": 4}
    assert parsed.metadata["species_source"] == "PSF atom type"
    assert parsed.metadata["software"] == "NAMD"
    assert not any(q.quantity.startswith("BoxLength") for q in parsed.quantities)  # zeroed unit cell: no box
    assert psf.name == parsed.metadata["topology"]


def test_dcd_transport_uses_only_the_named_species(store: Repository, tmp_path: Path) -> None:
    from battkg.ingest.md import charmm

    psf = write_psf(tmp_path / "system.psf", ELECTROLYTE)
    write_dcd(tmp_path / "traj.dcd", 48, box=[30.0, 30.0, 30.0, 90.0, 90.0, 90.0])
    parsed = charmm.read(tmp_path / "traj.dcd", topology=psf, transport={"Li": 1.0, "P": -1.0})
    assert parsed.atom_species == ["Li"] * 6 + ["P"] * 3
    assert parsed.positions.shape == (DCD_FRAMES, 9, 3)


def test_bad_psf_or_dcd_is_a_format_error_and_stores_nothing(store: Repository, tmp_path: Path) -> None:
    psf = write_psf(tmp_path / "system.psf", ELECTROLYTE)
    write_dcd(tmp_path / "traj.dcd", 48)
    before = snapshot(store)
    short = tmp_path / "short.psf"
    short.write_text("".join(psf.read_text().splitlines(keepends=True)[:20]))
    with pytest.raises(FormatError, match=r"short\.psf, line \d+: !NATOM announces 48"):
        ingest_file(store, "md", tmp_path / "traj.dcd", UserMetadata(sample="s"), reader_options={"topology": str(short)})
    other = write_psf(tmp_path / "other.psf", ELECTROLYTE[:2])
    with pytest.raises(FormatError, match="topology other.psf has 9 atoms, the trajectory has 48"):
        ingest_file(store, "md", tmp_path / "traj.dcd", UserMetadata(sample="s"), reader_options={"topology": str(other)})
    cut = tmp_path / "cut.dcd"
    data = (tmp_path / "traj.dcd").read_bytes()
    cut.write_bytes(data[: len(data) - 100])
    with pytest.raises(FormatError, match="cut.dcd"):
        ingest_file(store, "md", cut, UserMetadata(sample="s"), reader_options={"topology": str(psf)})
    assert snapshot(store) == before


# ------------------------------------------------------------------------------------- .edr energies

GRO = """LiPF6 box written by hand
    2
    1LI      LI    1   0.100   0.200   0.300
    2PF6      P    2   0.500   0.500   0.500
   2.00000   2.00000   2.00000
"""


def _edr(name: str) -> tuple[Path, Path]:
    """A GROMACS test .edr shipped in pyedr, and the ``gmx energy`` .xvg export of the same file."""
    import pyedr

    folder = Path(pyedr.__file__).parent / "tests" / "data"
    edr, xvg = folder / f"{name}.edr", folder / f"{name}.xvg"
    if not edr.is_file() or not xvg.is_file():
        pytest.fail(f"pyedr {pyedr.__version__} no longer ships tests/data/{name}.edr/.xvg")
    return edr, xvg


def _xvg(path: Path) -> dict[str, np.ndarray]:
    """Columns of a gmx energy .xvg by legend (first column: time)."""
    legends: list[str] = []
    rows = []
    for line in path.read_text().splitlines():
        if line.startswith("@ s") and " legend " in line:
            legends.append(line.split(" legend ", 1)[1].strip().strip('"'))
        elif line and line[0] not in "#@":
            rows.append([float(v) for v in line.split()])
    table = np.array(rows)
    return {"Time": table[:, 0], **{name: table[:, k + 1] for k, name in enumerate(legends)}}


def test_edr_energies_go_to_hdf5_with_units_matching_gmx_energy(store: Repository, tmp_path: Path) -> None:
    edr, xvg = _edr("cat_small")
    oracle = _xvg(xvg)
    gro = tmp_path / "conf.gro"
    gro.write_text(GRO)
    result = ingest_file(store, "md", gro, UserMetadata(sample="s"), reader_options={"energies": str(edr)})
    assert any("#Surf*SurfTen" in w for w in result.warnings)  # bar nm: no unit known, reported
    with _h5(store, result) as h5:
        energies = h5["energies"]
        for name, term, unit, quantity in (
                ("time", "Time", "picosecond", "Time"),
                ("temperature", "Temperature", "kelvin", "ThermodynamicTemperature"),
                ("pressure", "Pressure", "bar", "Pressure"),
                ("potential_energy", "Potential", "kilojoule/mole", "PotentialEnergy"),
                ("total_energy", "Total Energy", "kilojoule/mole", "SystemTotalEnergy"),
                ("density", "Density", "kilogram/meter**3", "Density"),
                ("LJ (SR)", "LJ (SR)", "kilojoule/mole", "Energy"),
                ("Pres-XX", "Pres-XX", "bar", "Pressure")):
            assert energies[name][:] == pytest.approx(oracle[term], rel=1e-5, abs=1e-5), name
            assert energies[name].attrs["unit"] == unit and energies[name].attrs["quantity"] == quantity
        assert energies["volume"][:] == pytest.approx(oracle["Volume"] * 1000.0, rel=1e-5)  # nm³ → Å³
        assert energies["volume"].attrs["unit"] == "angstrom**3"
        assert "#Surf*SurfTen" not in energies
    activity = _activity(store, result.record_iri)
    software = store.graphs.query(f"""SELECT ?l WHERE {{ GRAPH <{result.record_iri}> {{
        <{result.record_iri}> battkg:describes ?a . ?a prov:wasAssociatedWith ?s . ?s rdfs:label ?l }} }}""", graphs=None)
    assert [row["l"].value for row in software] == ["GROMACS"]  # only GROMACS writes .edr
    assert int(activity[VOCAB + "numberOfAtoms"][0]) == 2


def test_edr_with_an_xtc_trajectory_through_the_cli(tmp_path: Path) -> None:
    from MDAnalysis.lib.formats.libmdaxdr import XTCFile

    from battkg.cli import app

    edr, xvg = _edr("irregular")
    gro = tmp_path / "conf.gro"
    gro.write_text(GRO)
    with XTCFile(str(tmp_path / "traj.xtc"), "w") as handle:
        for k in range(5):
            handle.write(np.full((2, 3), 0.1 * (k + 1), dtype=np.float32), np.eye(3, dtype=np.float32) * 2.0,
                         500 * k, 1.0 * k)
    store_dir = tmp_path / "store"
    result = CliRunner().invoke(app, ["ingest", "md", str(tmp_path / "traj.xtc"), "--topology", str(gro),
                                      "--energies", str(edr), "--sample", "s", "--store", str(store_dir)])
    assert result.exit_code == 0, result.output
    oracle = _xvg(xvg)
    with open_repository(store_dir) as repo:
        (iri,) = [g for g in repo.graphs.graph_names() if "/record/" in g]
        (row,) = list(repo.graphs.query(f"""SELECT ?sha WHERE {{ GRAPH <{iri}> {{
            ?d battkg:hasArray ?x ; battkg:sha256 ?sha }} }} LIMIT 1""", graphs=None))
        with h5py.File(repo.blobs.path_of(row["sha"].value), "r") as h5:
            assert h5["energies/time"][:] == pytest.approx(oracle["Time"], abs=1e-6)  # irregular spacing kept
            assert h5["energies/temperature"][:] == pytest.approx(oracle["Temperature"], rel=1e-5)
            assert h5["frames/time"].shape == (5,)


def test_bad_edr_is_a_format_error_and_stores_nothing(store: Repository, tmp_path: Path) -> None:
    edr, _ = _edr("cat_small")
    gro = tmp_path / "conf.gro"
    gro.write_text(GRO)
    before = snapshot(store)
    cut = tmp_path / "cut.edr"
    cut.write_bytes(edr.read_bytes()[:1500])  # inside the first energy frame
    with pytest.raises(FormatError, match=r"cut\.edr, field 'energies': no complete energy frame"):
        ingest_file(store, "md", gro, UserMetadata(sample="s"), reader_options={"energies": str(cut)})
    junk = tmp_path / "junk.edr"
    for content in (GRO.encode() * 20,  # text: its first bytes read as a huge term count
                    b"\x00\x00\x00\x05" + bytes(range(256)) * 4):  # a small count, then no readable name
        junk.write_bytes(content)
        with pytest.raises(FormatError, match=r"junk\.edr, field 'energies': not a GROMACS \.edr energy file"):
            ingest_file(store, "md", gro, UserMetadata(sample="s"), reader_options={"energies": str(junk)})
    assert snapshot(store) == before


# ------------------------------------------------------------------------------------ record identity


def test_record_identity_uses_the_topology_checksum_not_its_path(store: Repository, tmp_path: Path) -> None:
    first, second = tmp_path / "run-a", tmp_path / "copy-b"
    first.mkdir()
    psf = write_psf(first / "system.psf", ELECTROLYTE)
    write_dcd(first / "traj.dcd", 48)
    shutil.copytree(first, second)
    user = UserMetadata(sample="LiPF6 box")
    one = ingest_file(store, "md", first / "traj.dcd", user, reader_options={"topology": str(psf)})
    again = ingest_file(store, "md", second / "traj.dcd", user,
                        reader_options={"topology": str(second / "system.psf")})
    assert one.created and not again.created and again.record_id == one.record_id
    # the same trajectory with an edited topology (another title line) is another record
    write_psf(second / "system.psf", ELECTROLYTE, title="edited charges")
    edited = ingest_file(store, "md", second / "traj.dcd", user,
                         reader_options={"topology": str(second / "system.psf")})
    assert edited.created and edited.record_id != one.record_id
    # the energies file counts the same way
    edr, _ = _edr("cat_small")
    (first / "conf.gro").write_text(GRO)
    (second / "conf.gro").write_text(GRO)
    shutil.copy(edr, first / "ener.edr")
    shutil.copy(edr, second / "ener.edr")
    a = ingest_file(store, "md", first / "conf.gro", user, reader_options={"energies": str(first / "ener.edr")})
    b = ingest_file(store, "md", second / "conf.gro", user, reader_options={"energies": str(second / "ener.edr")})
    assert a.record_id == b.record_id and not b.created
    # no path in the stored ingest options, the checksum instead
    options: Any = list(store.graphs.query(
        f"SELECT ?o WHERE {{ GRAPH <{one.record_iri}> {{ ?s battkg:ingestOptions ?o }} }}", graphs=None))
    assert options and str(first) not in options[0]["o"].value and "sha256" in options[0]["o"].value


# ------------------------------------------------------------------------ files kept with the record

def _files(repo: Repository, iri: str) -> dict[str, dict[str, Any]]:
    """The record's further files: role -> name, checksum, and which activities used or generated them."""
    rows = repo.graphs.query(f"""SELECT ?role ?name ?sha ?bySimulation ?byIngest ?generatedBy WHERE {{ GRAPH <{iri}> {{
        <{iri}> dcat:distribution ?d ; battkg:describes ?simulation ; prov:wasGeneratedBy ?ingest .
        ?d battkg:fileRole ?role ; battkg:originalFileName ?name ; battkg:sha256 ?sha .
        BIND(EXISTS {{ ?simulation prov:used ?d }} AS ?bySimulation)
        BIND(EXISTS {{ ?ingest prov:used ?d }} AS ?byIngest)
        OPTIONAL {{ ?d prov:wasGeneratedBy ?generatedBy }} }} }}""", graphs=None)
    return {row["role"].value: {"name": row["name"].value, "sha256": row["sha"].value,
                                "used_by_simulation": row["bySimulation"].value == "true",
                                "used_by_ingest": row["byIngest"].value == "true",
                                "generated_by": row["generatedBy"].value if row["generatedBy"] is not None else None}
            for row in rows}


def test_topology_and_energies_are_kept_as_blobs_of_the_record(store: Repository, tmp_path: Path) -> None:
    """Both further files are stored byte for byte and named in the record: the topology as an input
    the simulation used, the energy file as something the simulation generated; the ingest used both."""
    import hashlib

    psf = write_psf(tmp_path / "system.psf", ELECTROLYTE)
    write_dcd(tmp_path / "traj.dcd", 48)
    result = ingest_file(store, "md", tmp_path / "traj.dcd", UserMetadata(sample="LiPF6 box"),
                         reader_options={"topology": str(psf)})
    files = _files(store, result.record_iri)
    assert set(files) == {"topology"}
    topology = files["topology"]
    assert topology["name"] == "system.psf" and topology["sha256"] == hashlib.sha256(psf.read_bytes()).hexdigest()
    assert topology["used_by_simulation"] and topology["used_by_ingest"] and topology["generated_by"] is None
    assert store.blobs.open_verified(topology["sha256"]) == psf.read_bytes()

    edr, _ = _edr("cat_small")
    (tmp_path / "conf.gro").write_text(GRO)
    with_energies = ingest_file(store, "md", tmp_path / "conf.gro", UserMetadata(sample="s"),
                                reader_options={"energies": str(edr)})
    energies = _files(store, with_energies.record_iri)["energies"]
    assert energies["name"] == edr.name and energies["used_by_ingest"] and not energies["used_by_simulation"]
    activity = next(iter(store.graphs.query(f"""SELECT ?a WHERE {{ GRAPH <{with_energies.record_iri}> {{
        <{with_energies.record_iri}> battkg:describes ?a }} }}""", graphs=None)))["a"].value
    assert energies["generated_by"] == activity
    assert store.blobs.open_verified(energies["sha256"]) == edr.read_bytes()


def test_kept_files_survive_gc_and_travel_in_the_ro_crate(tmp_path: Path) -> None:
    import zipfile

    from battkg.cli import app
    from battkg.export import write_ro_crate

    psf = write_psf(tmp_path / "system.psf", ELECTROLYTE)
    write_dcd(tmp_path / "traj.dcd", 48)
    store_dir = tmp_path / "store"
    ingested = CliRunner().invoke(app, ["ingest", "md", str(tmp_path / "traj.dcd"), "--topology", str(psf),
                                        "--sample", "s", "--store", str(store_dir)])
    assert ingested.exit_code == 0, ingested.output
    gc = CliRunner().invoke(app, ["gc", "--store", str(store_dir)])
    assert gc.exit_code == 0, gc.output
    with open_repository(store_dir) as repo:
        (iri,) = [g for g in repo.graphs.graph_names() if "/record/" in g]
        sha = _files(repo, iri)["topology"]["sha256"]
        assert repo.blobs.exists(sha)  # still referenced: gc kept it
        write_ro_crate(repo, [iri], tmp_path / "crate.zip")
    with zipfile.ZipFile(tmp_path / "crate.zip") as crate:
        (member,) = [name for name in crate.namelist() if name.endswith("/system.psf")]
        assert crate.read(member) == psf.read_bytes()
        metadata = crate.read("ro-crate-metadata.json").decode()
        assert f'"sha256": "{sha}"' in metadata and "topology file of" in metadata


def test_a_topology_changed_during_the_ingest_is_refused_and_nothing_stored(
        store: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The record names the topology by the checksum taken before reading; if the file is different when
    it is copied into the store, the ingest stops and leaves no graph and no blob behind."""
    import battkg.ingest.pipeline as pipeline
    from battkg.errors import StoreError

    psf = write_psf(tmp_path / "system.psf", ELECTROLYTE)
    write_dcd(tmp_path / "traj.dcd", 48)
    original = pipeline.prepare_record

    def edit_topology_then_prepare(*args: Any, **kwargs: Any) -> Any:
        prepared = original(*args, **kwargs)
        write_psf(psf, ELECTROLYTE, title="edited while the trajectory was read")
        return prepared

    monkeypatch.setattr(pipeline, "prepare_record", edit_topology_then_prepare)
    before = snapshot(store)
    with pytest.raises(StoreError, match=r"system\.psf changed while it was being ingested"):
        ingest_file(store, "md", tmp_path / "traj.dcd", UserMetadata(sample="s"), reader_options={"topology": str(psf)})
    assert snapshot(store) == before


def test_missing_topology_file_is_named(store: Repository, tmp_path: Path) -> None:
    write_dcd(tmp_path / "traj.dcd", 48)
    with pytest.raises(FormatError, match=r"nope\.psf, field 'topology': no such file"):
        ingest_file(store, "md", tmp_path / "traj.dcd", UserMetadata(sample="s"),
                    reader_options={"topology": str(tmp_path / "nope.psf")})


def test_a_topology_is_parsed_from_its_staged_copy_and_errors_name_the_users_file(
        store: Repository, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Like the raw file, a further file is read once: copied into the staging area while its checksum is
    taken, parsed there and adopted, so the topology parsed is the one stored.  A reader's error about the
    copy names the user's file, and no staging folder is left behind."""
    import battkg.ingest.md.charmm as charmm

    psf = write_psf(tmp_path / "system.psf", ELECTROLYTE)
    write_dcd(tmp_path / "traj.dcd", 48)
    given: dict[str, Path] = {}
    real_read = charmm.read

    def spying_read(path: Path, **options: Any) -> Any:
        given.update(raw=Path(path), topology=Path(options["topology"]))
        return real_read(path, **options)

    monkeypatch.setattr(charmm, "read", spying_read)
    ingest_file(store, "md", tmp_path / "traj.dcd", UserMetadata(sample="s"), reader_options={"topology": str(psf)})
    staging = store.blobs.tmp_dir
    assert given["topology"].name == "system.psf" and given["topology"].is_relative_to(staging)
    assert given["raw"].is_relative_to(staging) and given["topology"].parent != given["raw"].parent
    assert list(staging.iterdir()) == []  # adopted or removed

    short = tmp_path / "short.psf"
    short.write_text("".join(psf.read_text().splitlines(keepends=True)[:20]))
    with pytest.raises(FormatError) as refused:
        ingest_file(store, "md", tmp_path / "traj.dcd", UserMetadata(sample="t"),
                    reader_options={"topology": str(short)})
    assert str(short) in str(refused.value) and str(staging) not in str(refused.value)
    assert list(staging.iterdir()) == []


def test_a_further_file_the_reader_does_not_read_is_refused(store: Repository, tmp_path: Path) -> None:
    """A record must not name, as the simulation's energies or topology, a file battkg never read: the
    CHARMM reader takes no .edr, the XYZ reader no topology."""
    psf = write_psf(tmp_path / "system.psf", ELECTROLYTE)
    write_dcd(tmp_path / "traj.dcd", 48)
    edr, _ = _edr("cat_small")
    before = snapshot(store)
    with pytest.raises(FormatError, match=rf"{edr.name}, field 'energies'.*md\.charmm\.dcd reader .* does not read "
                                          r"energies files; it takes topology"):
        ingest_file(store, "md", tmp_path / "traj.dcd", UserMetadata(sample="s"),
                    reader_options={"topology": str(psf), "energies": str(edr)})
    (tmp_path / "water.xyz").write_text("3\nwater\nO 0 0 0\nH 0.96 0 0\nH -0.24 0.93 0\n")
    with pytest.raises(FormatError, match=r"system\.psf, field 'topology'.*md\.xyz reader .* it takes no further files"):
        ingest_file(store, "md", tmp_path / "water.xyz", UserMetadata(sample="s"), reader_options={"topology": str(psf)})
    assert snapshot(store) == before
    assert list(store.blobs.tmp_dir.iterdir()) == []
