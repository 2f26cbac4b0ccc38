"""CQ5 and CQ7 across sources: a measured (EIS) and a simulated (MD) conductivity of one electrolyte.

Both records are made by the real ingesters (an EIS sample file with a formulation sidecar and a
cell constant; a generated random-walk trajectory with the same formulation described differently
and a transport analysis), so the test checks that the two techniques' records really join on the
formulation node and that the quality filters (status, rating) apply.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from battkg.formulation import parse_formulation
from battkg.ingest.pipeline import ingest_file, user_metadata
from battkg.query import frame
from battkg.readers import ScalarQuantity
from battkg.record import mark_status
from tests.conftest import manifest_entries, requires_shared_samples, sample_path
from tests.ingest.test_md_records import write_random_walk_dump

# One electrolyte, written two ways: mole fractions for the lab, the same with names for the simulation.
LAB = [{"name": "LiPF6", "amount": 0.1, "kind": "mole fraction"}, {"name": "EC", "amount": 0.45, "kind": "molPerMol"},
       {"name": "EMC", "amount": 0.45, "kind": "molPerMol"}]
SIMULATION = [{"chemical": {"SMILES": "[Li+].F[P-](F)(F)(F)(F)F"}, "fraction": 0.1, "fraction_type": "molar fraction"},
              {"chemical": {"SMILES": "C1COC(=O)O1"}, "fraction": 0.45, "fraction_type": "molar fraction"},
              {"chemical": {"SMILES": "CCOC(=O)OC"}, "fraction": 0.45, "fraction_type": "molar fraction"}]
EIS_ENTRIES = [e for e in manifest_entries("eis") if "eclab" in e.values[0]["format"]]


def _ingest_pair(repo, tmp_path: Path):  # type: ignore[no-untyped-def]
    eis_file = sample_path(EIS_ENTRIES[0].values[0])
    eis_user = user_metadata("eis", eis_file, {"sample": "EL-7", "formulation": LAB, "cell_constant": "1.2 1/cm",
                                               "conditions": {"temperature": "25 degC"}, "rating": 4},
                             meta_file=tmp_path / "none")
    measured = ingest_file(repo, "eis", eis_file, eis_user)
    dump = write_random_walk_dump(tmp_path / "walk.lammpstrj", frames=40)
    md_user = user_metadata("md", dump, {"sample": "EL-7 model", "formulation": SIMULATION}, meta_file=tmp_path / "none")
    md_user.quantities.append(ScalarQuantity("ThermodynamicTemperature", 298.15, "kelvin", "thermostat"))
    simulated = ingest_file(repo, "md", dump, md_user, reader_options={"transport": {"Li": 1.0, "P": -1.0}})
    return measured, simulated


@requires_shared_samples
def test_measured_and_simulated_conductivity_of_one_formulation_join(repo, tmp_path: Path) -> None:
    measured, simulated = _ingest_pair(repo, tmp_path)
    formulation = parse_formulation(LAB)
    molality = formulation.canonical().salt_molality()["AXPLOJNSKRXQPA-UHFFFAOYSA-N"]

    cq7 = frame(repo, "cq7-conductivity-vs-molality")
    ours = cq7[cq7["record"].isin([measured.record_iri, simulated.record_iri])]
    # one row per conductivity: the EIS file holds several spectra, the simulation one analysis
    assert set(zip(ours["method"], ours["kind"])) == {("eis", "experiment"), ("md", "simulation")}
    assert (ours["method"] == "md").sum() == 1 and (ours["method"] == "eis").sum() >= 1
    assert set(ours["formulation"]) == {formulation.identity}
    assert ours["lipf6_molality"].astype(float).tolist() == pytest.approx([molality] * len(ours))
    assert ours["temperature"].astype(float).tolist() == pytest.approx([298.15] * len(ours))
    assert (ours["conductivity"].astype(float) > 0).all()

    cq5 = frame(repo, "cq5-experiments-and-models")
    assert set(cq5.loc[cq5["formulation"] == formulation.identity, "kind"]) == {"experiment", "simulation"}

    # Quality filters: a rating below 3 and a deleted record drop out of CQ7; CQ5 then has no pair.
    mark_status(repo, simulated.record_id, "active", "reviewed: poor statistics", rating=2)
    cq7 = frame(repo, "cq7-conductivity-vs-molality")
    assert set(cq7.loc[cq7["record"].isin([measured.record_iri, simulated.record_iri]), "method"]) == {"eis"}
    mark_status(repo, measured.record_id, "deleted", "wrong cell constant")
    cq7 = frame(repo, "cq7-conductivity-vs-molality")
    assert not cq7["record"].isin([measured.record_iri, simulated.record_iri]).any()
    cq5 = frame(repo, "cq5-experiments-and-models")
    assert formulation.identity not in set(cq5["formulation"])


@requires_shared_samples
def test_competency_questions_1_to_4_see_simulation_records(repo, tmp_path: Path) -> None:
    _, simulated = _ingest_pair(repo, tmp_path)
    found = frame(repo, "experiments-by-technique", {"technique": "md"})
    assert simulated.record_iri in set(found["record"])
    listed = frame(repo, "records", {"technique": "md"})
    assert listed.loc[listed["record"] == simulated.record_iri, "sample"].tolist() == ["EL-7 model"]
