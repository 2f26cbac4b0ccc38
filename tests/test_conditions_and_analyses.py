"""Measurement conditions (characterisation environment) and analysis activities in records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from battkg.cli import app
from battkg.errors import MetadataError
from battkg.ingest.pipeline import user_metadata
from battkg.ingest.technique import Analysis, parse_conditions
from battkg.readers import ScalarQuantity
from tests.helpers import ingest, snapshot, user, write_xy

PREFIXES = """PREFIX chameo: <https://w3id.org/emmo/domain/characterisation-methodology/chameo#>
PREFIX emmo: <https://w3id.org/emmo#>
PREFIX battkg: <https://w3id.org/battkg/vocab#>
PREFIX prov: <http://www.w3.org/ns/prov#>
"""


def test_conditions_become_the_characterisation_environment(repo, tmp_path: Path) -> None:
    conditions = {"temperature": "25 degC", "atmosphere": "argon", "mode": "Operando", "cell_type": "CR2032 coin cell"}
    result = ingest(repo, write_xy(tmp_path / "p.xy"), user(conditions=conditions))
    rows = list(repo.graphs.query(PREFIXES + """
        SELECT ?k ?original ?unit ?atm ?mode ?cell WHERE {
          ?m chameo:hasCharacterisationEnvironment ?env .
          ?env a chameo:CharacterisationEnvironment ; battkg:atmosphere ?atm ; battkg:measurementMode ?mode ;
               battkg:cellType ?cell ;
               chameo:hasCharacterisationEnvironmentProperty ?t .
          ?t a emmo:EMMO_affe07e4_e9bc_4852_86c6_69e26182a17f ;
             emmo:EMMO_8ef3cd6d_ae58_4a8d_9fc0_ad8f49015cd0/emmo:EMMO_faf79f53_749d_40b2_807c_d34244c192f4 ?k ;
             battkg:originalValue ?original ; emmo:EMMO_bed1d005_b04e_4a90_94cf_02bc678a8569 ?unit }""",
        graphs=[result.record_iri]))
    assert len(rows) == 1
    row = rows[0]
    assert float(row["k"].value) == pytest.approx(298.15)
    assert float(row["original"].value) == 25.0
    assert row["unit"].value == "https://w3id.org/emmo#Kelvin"
    assert (row["atm"].value, row["mode"].value, row["cell"].value) == ("argon", "operando", "CR2032 coin cell")


@pytest.mark.parametrize(
    ("conditions", "field", "rule"),
    [
        ({"temperature": 25}, "conditions.temperature", "needs a number with a unit"),
        ({"temperature": "25"}, "conditions.temperature", "needs a number with a unit"),
        ({"temperature": "-300 degC"}, "conditions.temperature", "below absolute zero"),
        ({"temperature": "3 bar"}, "conditions.temperature", "is not a temperature"),
        ({"temperature": "25 zorks"}, "conditions.temperature", "unknown unit"),
        ({"mode": "sideways"}, "conditions.mode", "must be one of operando, in situ, ex situ"),
        ({"humidity": "3 %"}, "conditions.humidity", "unknown condition"),
    ],
)
def test_bad_conditions_name_the_field_and_rule(conditions: dict, field: str, rule: str) -> None:
    with pytest.raises(MetadataError) as error:
        parse_conditions(conditions, source="x.meta.json")
    assert error.value.field == field
    assert rule in str(error.value)


def test_sidecar_conditions_are_merged_per_key_with_cli_conditions(tmp_path: Path) -> None:
    pattern = write_xy(tmp_path / "p.xy")
    (tmp_path / "p.xy.meta.json").write_text(json.dumps(
        {"sample": "S1", "wavelength": 1.5406, "conditions": {"temperature": "25 degC", "atmosphere": "air"}}))
    merged = user_metadata("xrd", pattern, {"conditions": {"atmosphere": "argon"}})
    assert merged.conditions == {"temperature": "25 degC", "atmosphere": "argon"}


def test_cli_condition_option_reaches_the_record_and_bad_ones_store_nothing(tmp_path: Path) -> None:
    store = tmp_path / "store"
    pattern = write_xy(tmp_path / "p.xy")
    runner = CliRunner()
    bad = runner.invoke(app, ["ingest", "xrd", str(pattern), "--sample", "S1", "--wavelength", "1.5406",
                              "--condition", "temperature=hot", "--store", str(store)])
    assert bad.exit_code != 0
    assert "conditions.temperature" in bad.output
    good = runner.invoke(app, ["ingest", "xrd", str(pattern), "--sample", "S1", "--wavelength", "1.5406",
                               "--condition", "temperature=300 K", "--condition", "mode=ex situ",
                               "--store", str(store)])
    assert good.exit_code == 0, good.output
    shown = runner.invoke(app, ["records", "show", good.stdout.strip().splitlines()[-1], "--store", str(store)])
    assert '"ex situ"' in shown.output and "measurementMode" in shown.output


def test_bad_conditions_leave_the_store_untouched(repo, tmp_path: Path) -> None:
    before = snapshot(repo)
    with pytest.raises(MetadataError):
        ingest(repo, write_xy(tmp_path / "p.xy"), user(conditions={"mode": "maybe"}))
    assert snapshot(repo) == before


def test_analysis_is_its_own_activity_informed_by_the_measurement(repo, tmp_path: Path, monkeypatch) -> None:
    """A technique's Analysis becomes an AnalysisActivity that used the arrays and generated the outputs."""
    from battkg.ingest.technique import Derived, technique

    xrd = technique("xrd")
    original = xrd.derive

    def derive_with_analysis(parsed, meta):  # type: ignore[no-untyped-def]
        derived: Derived = original(parsed, meta)
        derived.analyses.append(Analysis(
            key="peak", label="strongest reflection", method="maximum of the intensity array",
            outputs=[ScalarQuantity("TwoTheta", 12.3, "degree", "peak")], software="numpy", software_version="2.0"))
        return derived

    monkeypatch.setattr(xrd, "derive", derive_with_analysis)
    result = ingest(repo, write_xy(tmp_path / "p.xy"))
    rows = list(repo.graphs.query(PREFIXES + """
        SELECT ?method ?v ?used ?sw WHERE {
          ?a a battkg:AnalysisActivity ; battkg:analysisMethod ?method ; prov:wasInformedBy ?m ; prov:used ?used ;
             prov:wasAssociatedWith ?sw ;
             emmo:EMMO_c4bace1d_4db0_4cd3_87e9_18122bae2840/emmo:EMMO_8ef3cd6d_ae58_4a8d_9fc0_ad8f49015cd0/emmo:EMMO_faf79f53_749d_40b2_807c_d34244c192f4 ?v .
          ?r battkg:describes ?m .
          ?used a <http://www.w3.org/ns/dcat#Distribution> ; <http://www.w3.org/ns/dcat#mediaType> "application/x-hdf5" }""",
        graphs=[result.record_iri]))
    assert len(rows) == 1
    assert rows[0]["method"].value == "maximum of the intensity array"
    assert float(rows[0]["v"].value) == pytest.approx(12.3)
    assert rows[0]["sw"].value.endswith("/software/numpy/2.0")

