"""Electrolyte formulations: identity across sources, salt molality, ontology substances."""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph as ox
import pytest

from battkg.errors import MetadataError
from battkg.formulation import parse_formulation, resolve_substance
from battkg.ontology import ONTOLOGY_PATH, context
from battkg.record import jsonld_to_quads
from tests.conftest import FINALES_REFERENCE, ONTOLOGY_REFERENCE, requires_shared_ontology

LIPF6 = {"SMILES": "[Li+].F[P-](F)(F)(F)(F)F", "InChIKey": "AXPLOJNSKRXQPA-UHFFFAOYSA-N"}
EC = {"SMILES": "C1COC(=O)O1", "InChIKey": "KMTRUDSVKNLOMY-UHFFFAOYSA-N"}
EMC = {"SMILES": "CCOC(=O)OC", "InChIKey": "JBTWLSYIZRCDFO-UHFFFAOYSA-N"}
M_EC, M_EMC = 88.062, 104.105  # g/mol


def finales_style(x_salt: float, x_ec: float, x_emc: float) -> list[dict]:
    return [{"chemical": chem, "fraction": x, "fraction_type": "molPerMol"}
            for chem, x in ((EC, x_ec), (EMC, x_emc), (LIPF6, x_salt))]


def test_salt_molality_from_mole_fractions_matches_hand_calculation() -> None:
    formulation = parse_formulation(finales_style(0.1, 0.3, 0.6))
    expected = 0.1 / (0.3 * M_EC + 0.6 * M_EMC) * 1000.0
    assert formulation.salt_molality()[LIPF6["InChIKey"]] == pytest.approx(expected, rel=1e-4)


def test_lab_notation_and_optimiser_notation_of_one_electrolyte_are_one_node() -> None:
    # "1 mol/kg LiPF6 in EC:EMC 3:7 by weight", written by a lab with names ...
    lab = parse_formulation([
        {"name": "LiPF6", "amount": 1.0, "kind": "mol/kg"},
        {"name": "EC", "amount": 0.3, "kind": "mass fraction"},
        {"name": "EMC", "amount": 0.7, "kind": "wt"},
    ])
    # ... and the same electrolyte as an optimiser posts it (mole fractions computed by hand).
    n_ec, n_emc, n_salt = 300 / M_EC, 700 / M_EMC, 1.0
    total = n_ec + n_emc + n_salt
    optimiser = parse_formulation(finales_style(n_salt / total, n_ec / total, n_emc / total))
    assert lab.iri == optimiser.iri
    assert lab.salt_molality()[LIPF6["InChIKey"]] == pytest.approx(1.0)
    assert optimiser.salt_molality()[LIPF6["InChIKey"]] == pytest.approx(1.0, rel=1e-3)
    # a different salt content is a different formulation
    assert parse_formulation(finales_style(0.12, 0.3, 0.58)).iri != optimiser.iri


def test_component_order_does_not_change_identity() -> None:
    entries = finales_style(0.1, 0.3, 0.6)
    assert parse_formulation(entries).iri == parse_formulation(list(reversed(entries))).iri


@pytest.mark.parametrize(
    ("entries", "field", "rule"),
    [
        ([{"chemical": {"SMILES": "C1COC(=O)O1", "InChIKey": EMC["InChIKey"]}, "fraction": 1.0,
           "fraction_type": "molPerMol"}], "formulation[0]", "has InChIKey KMTRUDSVKNLOMY"),
        ([{"chemical": {"SMILES": "C1CC(("}, "fraction": 1.0, "fraction_type": "molPerMol"}], "formulation[0]",
         "not a valid SMILES"),
        (finales_style(0.1, 0.3, 0.3), "formulation", "sum to 0.7000, not 1"),
        ([{"chemical": EC, "fraction": 1.0, "fraction_type": "percent-ish"}], "formulation[0].fraction_type",
         "unknown amount kind"),
        ([{"chemical": EC, "fraction": "a lot", "fraction_type": "molPerMol"}], "formulation[0].fraction",
         "must be a number"),
        ([{"name": "unobtainium", "amount": 1, "kind": "molality"}], "formulation[0]", "not a substance battkg knows"),
        ([{"chemical": EC, "fraction": 0.5, "fraction_type": "molPerMol"}] * 2, "formulation", "listed twice"),
        ([], "formulation", "at least one component"),
    ],
)
def test_bad_formulations_name_the_field_and_the_rule(entries: list, field: str, rule: str) -> None:
    with pytest.raises(MetadataError) as error:
        parse_formulation(entries, source="request.json")
    assert error.value.field == field
    assert rule in str(error.value)
    assert "request.json" in str(error.value)


def test_formulation_jsonld_uses_ontology_classes_and_units() -> None:
    formulation = parse_formulation(finales_style(0.1, 0.3, 0.6))
    store = ox.Store()
    store.extend(jsonld_to_quads({"@context": context(), "@graph": formulation.jsonld_nodes()}))
    rows = list(store.query(
        """PREFIX emmo: <https://w3id.org/emmo#>
           SELECT ?v ?unit WHERE {
             ?f a <https://w3id.org/emmo/domain/electrochemistry#electrochemistry_609b340f_3450_4a10_95c2_c457e3eb8a89> ;
                <https://w3id.org/emmo/domain/electrochemistry#electrochemistry_8784ef24_320b_4a3d_b200_654aec6c271c>
                  [ a <https://w3id.org/emmo/domain/chemical-substance#substance_0deb4fe8_b0c0_4e3f_8848_64435e5c0771> ;
                emmo:EMMO_e1097637_70d2_4895_973f_2396f04fa204
                  [ a emmo:EMMO_ead7c629_824a_410f_afec_579f08894c78 ;
                    emmo:EMMO_8ef3cd6d_ae58_4a8d_9fc0_ad8f49015cd0/emmo:EMMO_faf79f53_749d_40b2_807c_d34244c192f4 ?v ;
                    emmo:EMMO_bed1d005_b04e_4a90_94cf_02bc678a8569 ?unit ] ] }"""))
    assert len(rows) == 1
    assert float(rows[0]["v"].value) == pytest.approx(formulation.salt_molality()[LIPF6["InChIKey"]])
    assert rows[0]["unit"].value == "https://w3id.org/emmo#MolPerKilogram"


@requires_shared_ontology
def test_ontology_substance_identifiers_agree_with_upstream_inchi_and_formula() -> None:
    """Every InChIKey/SMILES/formula battkg asserts on a substance class is derived from upstream facts."""
    from rdkit import Chem

    reference = ox.Store()
    reference.bulk_load(path=str(ONTOLOGY_REFERENCE / "domain-chemical-substance" / "chemical-substance.ttl"),
                        format=ox.RdfFormat.TURTLE)
    ours = ox.Store()
    ours.bulk_load(path=str(ONTOLOGY_PATH), format=ox.RdfFormat.TURTLE)
    claims = list(ours.query(
        """SELECT ?s ?key ?smiles ?formula WHERE {
             ?s <https://w3id.org/emmo#EMMO_2856bbc2_96e1_485b_b5f8_2fdfcb0c9b92> ?key ;
                <https://w3id.org/emmo/domain/chemical-substance#substance_7fd07cf9_9736_48be_963c_f924ada8ac46> ?smiles ;
                <https://w3id.org/battkg/vocab#formula> ?formula }"""))
    assert len(claims) >= 11
    for claim in claims:
        upstream = list(reference.query(
            f"""SELECT ?inchi ?formula WHERE {{ <{claim['s'].value}>
                  <https://w3id.org/emmo/domain/chemical-substance#substance_33ab8162_934b_4e36_bb43_5528d867d6d6> ?inchi ;
                  <https://w3id.org/emmo#EMMO_b8c10b72_7cc1_4e82_b4ab_728faf504919> ?formula }}"""))
        assert upstream, f"{claim['s'].value} has no standardInChI/molecularFormula upstream"
        assert Chem.InchiToInchiKey(upstream[0]["inchi"].value) == claim["key"].value, claim["s"].value
        assert Chem.MolToInchiKey(Chem.MolFromSmiles(claim["smiles"].value)) == claim["key"].value, claim["s"].value
        assert upstream[0]["formula"].value == claim["formula"].value, claim["s"].value


@pytest.mark.skipif(not FINALES_REFERENCE.exists(), reason="../shared/reference/finales is absent")
def test_every_finales_electrolyte_chemical_resolves_to_an_ontology_substance() -> None:
    """Components of every real FINALES ``formulation`` (not schema placeholders) resolve via RDKit + ontology."""
    chemicals: dict[str, str] = {}

    def walk(node: object, in_formulation: bool = False) -> None:
        if isinstance(node, dict):
            chem = node.get("chemical")
            if in_formulation and isinstance(chem, dict):
                chemicals[str(chem.get("InChIKey"))] = str(chem.get("SMILES"))
            for key, value in node.items():
                walk(value, in_formulation or key == "formulation")
        elif isinstance(node, list):
            for value in node:
                walk(value, in_formulation)

    for path in Path(FINALES_REFERENCE).rglob("*.json"):
        walk(json.loads(path.read_text()))
    real = {k: v for k, v in chemicals.items() if not k.startswith("required")}  # schema templates say "required, str"
    assert len(real) >= 4
    for inchikey, smiles in real.items():
        substance = resolve_substance(smiles=smiles, inchikey=inchikey)  # raises on a SMILES/InChIKey mismatch
        assert substance.molar_mass and substance.molar_mass > 0
        assert substance.ontology_class is not None, f"{smiles} ({inchikey}) has no ontology substance class"
    with pytest.raises(MetadataError, match="not a valid SMILES"):
        resolve_substance(smiles="w", inchikey="ww")  # the placeholder AutoBASS posted for electrode materials


def test_sources_that_differ_below_the_identity_tolerance_write_identical_triples() -> None:
    """One node, one set of values: names and amounts in the graph come from the canonical form."""
    optimiser = parse_formulation(finales_style(0.10001, 0.29999, 0.6))
    lab = parse_formulation([
        {"name": "LiPF6", "smiles": LIPF6["SMILES"], "amount": 0.1, "kind": "mole fraction"},
        {"name": "EC", "amount": 0.3, "kind": "mole fraction"},
        {"name": "EMC", "amount": 0.6, "kind": "mole fraction"},
    ])
    assert optimiser.iri == lab.iri

    def triples(formulation):  # type: ignore[no-untyped-def]
        quads = jsonld_to_quads({"@context": context(), "@graph": formulation.jsonld_nodes()})
        return {(q.subject, q.predicate, q.object) for q in quads}

    assert triples(optimiser) == triples(lab)
    labels = {t[2].value for t in triples(lab) if t[1].value.endswith("#label")}
    assert "EthyleneCarbonate" in labels and "EC" not in labels
