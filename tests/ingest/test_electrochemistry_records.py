"""Cycling and EIS through the whole ingest path: records vs the MANIFEST oracle, bad input, shapes, CQ6 links.

Every sample of ``shared/samples/{cycling,eis}`` with a reader is ingested once into a module-wide
embedded store; the tests read back the HDF5 arrays the graph describes and the graph itself and
compare both with ``MANIFEST.json``.  A file no cycling reader recognises must be refused with a clear
error and leave the store unchanged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from battkg.errors import FormatError, MetadataError, ShapeViolation
from battkg.ingest.pipeline import IngestResult, ingest_file, user_metadata
from battkg.ingest.technique import UserMetadata
from battkg.ontology import vocabulary
from battkg.record import record_iri
from battkg.store import Repository, open_repository
from tests.conftest import SAMPLES, manifest_entries, requires_shared_samples, sample_path
from tests.helpers import snapshot

CYCLING_FORMATS = ("eclab-mpr", "eclab-mpt", "arbin battery-data-format csv", "neware-nda", "neware-ndax",
                   "arbin-res", "arbin-sql-h5", "maccor-txt")
EIS_FORMATS = ("eclab-mpr", "eclab-mpt", "chinstruments-txt", "gamry-dta", "zplot-z")
CELL = {"sample": "LNO-GR-07", "cell_format": "CR2032 coin cell", "positive_electrode": "LiNiO2",
        "negative_electrode": "graphite", "formation_cycles": 1,
        "formulation": [{"name": "LiPF6", "amount": 1.0, "kind": "molality"},
                        {"name": "EC", "amount": 0.3, "kind": "mass fraction"},
                        {"name": "EMC", "amount": 0.7, "kind": "mass fraction"}]}
OUTPUT = "emmo:EMMO_c4bace1d_4db0_4cd3_87e9_18122bae2840"
VALUE = "emmo:EMMO_8ef3cd6d_ae58_4a8d_9fc0_ad8f49015cd0/emmo:EMMO_faf79f53_749d_40b2_807c_d34244c192f4"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Repository]:
    repository = open_repository(tmp_path_factory.mktemp("electrochemistry") / "store")
    yield repository
    repository.close()


_ingested: dict[str, IngestResult] = {}


def _ingest(repo: Repository, technique: str, path: Path, **fields: Any) -> IngestResult:
    """Ingest with a sidecar-style mapping (through user_metadata, as the CLI does); cached per file."""
    key = f"{technique}:{path}:{json.dumps(fields, sort_keys=True)}"
    if key not in _ingested:
        meta = path.parent / "none"  # no sidecar beside the read-only samples: pass everything as overrides
        user = user_metadata(technique, path, {"sample": "S-1", **fields}, meta_file=meta)
        options = {k: fields.pop(k) for k in ("experiment", "columns") if k in fields}
        _ingested[key] = ingest_file(repo, technique, path, user, reader_options=options or None)
    return _ingested[key]


def _arrays(repo: Repository, result: IngestResult) -> dict[tuple[str, str], np.ndarray]:
    """(block, array name) -> values, from the HDF5 blob the record's graph points to."""
    rows = list(repo.graphs.query(f"""
        SELECT ?path ?name ?block ?sha WHERE {{ GRAPH <{result.record_iri}> {{
          ?d battkg:hasArray ?a ; battkg:sha256 ?sha . ?a battkg:hdf5Path ?path ; rdfs:label ?name ; battkg:block ?block }} }}""",
                                  graphs=None))
    (sha,) = {r["sha"].value for r in rows}
    with h5py.File(repo.blobs.path_of(sha), "r") as h5:
        return {(r["block"].value, r["name"].value): h5[r["path"].value][()] for r in rows}


def _outputs(repo: Repository, result: IngestResult, quantity: str) -> list[tuple[float, str | None, str | None]]:
    """(value in canonical unit, role, block) of an analysis output of one quantity class."""
    rows = repo.graphs.query(f"""
        SELECT ?v ?role ?block WHERE {{ GRAPH <{result.record_iri}> {{
          ?a a battkg:AnalysisActivity ; {OUTPUT} ?q . ?q a <{vocabulary().iri(quantity)}> ; {VALUE} ?v .
          OPTIONAL {{ ?q battkg:role ?role }} OPTIONAL {{ ?q battkg:block ?block }} }} }}""", graphs=None)
    return [(float(r["v"].value), r["role"].value if r["role"] else None, r["block"].value if r["block"] else None)
            for r in rows]


def _ask(repo: Repository, result: IngestResult, pattern: str) -> bool:
    return bool(repo.graphs.query(f"ASK {{ GRAPH <{result.record_iri}> {{ {pattern} }} }}", graphs=None))


# ------------------------------------------------------------------------------------------ cycling oracle


def _galvani_voltage(entry: dict[str, Any]) -> dict[str, float] | None:
    galvani = entry.get("oracle_galvani") or {}
    return galvani.get("Ewe/V") or galvani.get("<Ewe>/V")


def _cycling_expected(entry: dict[str, Any]) -> dict[str, Any]:
    """n, voltage first/last (V), cycles where the oracle states them, in battkg units."""
    oracle = entry["oracle"]
    if "groups" in oracle:  # yadg (EC-Lab); its .mpt voltage is wrong for decimal-comma files: use galvani's
        group = oracle["groups"]["/"]
        voltage = _galvani_voltage(entry)
        if voltage is None:  # an .mpt: the galvani oracle of the .mpr of the same run
            twin = [e.values[0] for e in manifest_entries("cycling", suffixes=(".mpr",))
                    if e.values[0]["path"] == entry["path"][:-4] + ".mpr"]
            voltage = _galvani_voltage(twin[0]) if twin else None
        if voltage is None:
            voltage = group.get("Ewe") or group.get("<Ewe>")
        return {"n": group["dims"]["uts"], "v_first": voltage["first"], "v_last": voltage["last"]}
    if "voltage_V" in oracle:  # fastnda (Neware)
        return {"n": oracle["n_points"], "v_first": oracle["voltage_V"]["first"], "v_last": oracle["voltage_V"]["last"],
                "i_first": oracle["current_mA"]["first"] / 1000, "i_last": oracle["current_mA"]["last"] / 1000,
                "cycles": oracle["n_cycles"]}
    if "Voltage [V]" in oracle:  # pandas on the Maccor table: current unsigned there, signed by Md in battkg
        return {"n": oracle["n_points"], "v_first": oracle["Voltage [V]"]["first"],
                "v_last": oracle["Voltage [V]"]["last"], "abs_i_first": oracle["Current [A]"]["first"],
                "abs_i_last": oracle["Current [A]"]["last"], "cycles": oracle["cycle_values"]["distinct"]}
    # Arbin: BDF CSV (pandas), .res (mdb-export), SQL HDF5 (pandas HDFStore)
    exp = {"n": oracle["n_points"], "v_first": oracle["Voltage"]["first"], "v_last": oracle["Voltage"]["last"],
           "cycles": int(oracle["Cycle_Index"]["last"]) if "Cycle_Index" in oracle else oracle["n_cycles"]}
    for key, column in (("i", "Current"), ("t", "Test_Time")):
        if column in oracle:
            exp |= {f"{key}_first": oracle[column]["first"], f"{key}_last": oracle[column]["last"]}
    return exp


@requires_shared_samples
@pytest.mark.parametrize("entry", manifest_entries("cycling", formats=CYCLING_FORMATS))
def test_cycling_record_matches_oracle(store: Repository, entry: dict[str, Any]) -> None:
    result = _ingest(store, "cycling", sample_path(entry))
    exp = _cycling_expected(entry)
    arrays = _arrays(store, result)
    time, voltage, current = (arrays[("timeseries", n)] for n in ("time", "voltage", "current"))
    assert time.size == voltage.size == current.size == exp["n"]
    assert voltage[0] == pytest.approx(exp["v_first"], abs=2e-6)
    assert voltage[-1] == pytest.approx(exp["v_last"], abs=2e-6)
    for key, values in (("i_first", current[:1]), ("i_last", current[-1:]), ("t_first", time[:1]),
                        ("t_last", time[-1:]), ("abs_i_first", np.abs(current[:1])),
                        ("abs_i_last", np.abs(current[-1:]))):
        if key in exp:
            assert values[0] == pytest.approx(exp[key], rel=1e-6, abs=1e-9)
    assert np.all(np.diff(time) >= 0)
    # The per-cycle table is in HDF5; the graph's cycle count agrees with it and with the oracle.
    cycles = arrays[("cycle_summary", "cycle")]
    assert cycles.tolist() == sorted(set(arrays[("timeseries", "cycle_index")].tolist()))
    (n_cycles,) = _outputs(store, result, "TotalNumberOfCycles")
    assert n_cycles[0] == cycles.size
    if "cycles" in exp:
        assert cycles.size == exp["cycles"]
    (first,) = [v for v, role, _ in _outputs(store, result, "DischargingCapacity") if role == "first cycle"]
    assert first == pytest.approx(arrays[("cycle_summary", "discharge_capacity")][0])
    assert _ask(store, result, "?m a battery:battery_1d33b96d_f362_41e5_b670_d33cd6a7ab28 ; battkg:numberOfPoints "
                f"{exp['n']}")


@requires_shared_samples
def test_cycle_summary_and_end_of_life_match_a_vendor_capacity_cross_check(store: Repository) -> None:
    """Neware's own per-step capacities (independent of battkg's integration) give the same per-cycle figures."""
    import fastnda
    import polars as pl

    path = SAMPLES / "cycling/fastnda_nw4-120-1-6-53.ndax"
    result = _ingest(store, "cycling", path)
    arrays = _arrays(store, result)
    frame = fastnda.read(str(path))
    per_cycle = (frame.group_by("cycle_count").agg(
        (pl.col("capacity_mAh").clip(upper_bound=0).min() * -1).alias("qd")).sort("cycle_count"))
    vendor = per_cycle["qd"].to_numpy() / 1000  # one discharge step per cycle in this protocol
    ours = arrays[("cycle_summary", "discharge_capacity")]
    assert ours.size == vendor.size == 160
    np.testing.assert_allclose(ours, vendor, rtol=0.02, atol=2e-6)
    reference = ours[3]  # default: 3 formation cycles, reference = 4th cycle
    below = np.flatnonzero(ours[4:] < 0.8 * reference)
    status = store.graphs.query(f"SELECT ?s WHERE {{ GRAPH <{result.record_iri}> {{ ?a battkg:endOfLifeStatus ?s }} }}",
                                graphs=None)
    (state,) = [r["s"].value for r in status]
    eol = _outputs(store, result, "EndOfLifeCycle")
    if below.size:
        assert state == "reached" and eol == [(float(arrays[("cycle_summary", "cycle")][4 + below[0]]), "end of life",
                                               None)]
    else:
        assert state == "not reached" and eol == []
    (retention,) = _outputs(store, result, "CyclingCapacityRetention")
    assert retention[0] == pytest.approx(ours[-1] / reference)


def test_a_file_no_cycling_reader_recognises_is_refused_and_nothing_stored(store: Repository,
                                                                          tmp_path: Path) -> None:
    path = tmp_path / "spectrum.xy"
    path.write_text("10.0 100\n10.1 120\n")
    before = snapshot(store)
    with pytest.raises(FormatError, match="no cycling reader recognises this file") as info:
        ingest_file(store, "cycling", path, UserMetadata(sample="S-1"))
    assert str(path) in str(info.value)
    assert snapshot(store) == before


# ------------------------------------------------------------------------------------------ cell, CQ6


@requires_shared_samples
def test_cycling_record_links_cell_electrodes_and_electrolyte_for_cq6(store: Repository) -> None:
    from battkg.formulation import parse_formulation

    result = _ingest(store, "cycling", SAMPLES / "cycling/eclab_gcpl.pr_182.1.mpr", **CELL)
    formulation = parse_formulation(CELL["formulation"])
    rows = list(store.graphs.query(f"""
        SELECT ?cell ?pos_class ?neg_class ?salt_molality ?status WHERE {{ GRAPH <{result.record_iri}> {{
          ?m a battery:battery_1d33b96d_f362_41e5_b670_d33cd6a7ab28 ; chameo:hasMeasurementSample ?cell .
          ?cell a battery:battery_b7fdab58_6e91_4c84_b097_b06eff86a124 ; battkg:hasFormulation <{formulation.iri}> ;
                echem:electrochemistry_3bd08946_4e81_455d_9fca_dc7a5ead9315 <{formulation.iri}> ;
                echem:electrochemistry_8e9cf965_9f92_46e8_b678_b50410ce3616/echem:electrochemistry_860aa941_5ff9_4452_8a16_7856fad07bee ?pos .
          ?pos a ?pos_class . FILTER(STRSTARTS(STR(?pos_class), STR(chemsub:)))
          ?cell echem:electrochemistry_5d299271_3f68_494f_ab96_3db9acdd3138/echem:electrochemistry_860aa941_5ff9_4452_8a16_7856fad07bee ?neg .
          ?neg a ?neg_class . FILTER(STRSTARTS(STR(?neg_class), STR(chemsub:)))
          <{formulation.iri}> echem:electrochemistry_8784ef24_320b_4a3d_b200_654aec6c271c ?salt .
          ?salt emmo:EMMO_e1097637_70d2_4895_973f_2396f04fa204 ?q . ?q a emmo:EMMO_ead7c629_824a_410f_afec_579f08894c78 ; {VALUE} ?salt_molality .
          ?a prov:wasInformedBy ?m ; battkg:endOfLifeStatus ?status }} }}""", graphs=None))
    assert rows  # one row per molality node of the salt (as given, and any the formulation model derives)
    row = rows[0]
    assert row["pos_class"].value == vocabulary().material_class("LiNiO2")
    assert row["neg_class"].value == vocabulary().material_class("graphite")
    assert all(float(r["salt_molality"].value) == pytest.approx(1.0, rel=1e-3) for r in rows)
    assert row["status"].value in ("reached", "not reached")
    # formation_cycles=1 → the reference is cycle 2's discharge capacity.
    arrays = _arrays(store, result)
    (reference,) = [v for v, role, _ in _outputs(store, result, "DischargingCapacity") if role and "reference" in role]
    assert reference == pytest.approx(arrays[("cycle_summary", "discharge_capacity")][1])


# ------------------------------------------------------------------------------------------ EIS oracle


def _eis_expected(entry: dict[str, Any]) -> dict[str, Any]:
    oracle = entry["oracle"]
    if "groups" in oracle:
        g = oracle["groups"]["/"]
        return {"n": g["dims"]["uts"], "f_first": g["freq"]["first"], "f_last": g["freq"]["last"],
                "re_first": g["Re(Z)"]["first"], "re_last": g["Re(Z)"]["last"],
                "mi_first": g["-Im(Z)"]["first"], "mi_last": g["-Im(Z)"]["last"],
                "spectra": int(g["cycle number"]["max"])}
    return {"n": oracle["n_points"], "f_first": oracle["f_first_Hz"], "f_last": oracle["f_last_Hz"],
            "re_first": oracle["Zre_first"], "re_last": oracle["Zre_last"], "mi_first": -oracle["Zim_first"],
            "mi_last": -oracle["Zim_last"], "spectra": 1}


@requires_shared_samples
@pytest.mark.parametrize("entry", manifest_entries("eis", formats=EIS_FORMATS))
def test_eis_record_matches_oracle_and_conductivity_is_k_over_r(store: Repository, entry: dict[str, Any]) -> None:
    result = _ingest(store, "eis", sample_path(entry), cell_constant="1.5 1/cm",
                     conditions={"temperature": "25 degC"})
    exp = _eis_expected(entry)
    arrays = _arrays(store, result)
    blocks = sorted({b for b, _ in arrays}, key=lambda b: int(b.rsplit("_", 1)[-1]) if b[-1].isdigit() else 0)
    assert len(blocks) == exp["spectra"]
    joined = {n: np.concatenate([arrays[(b, n)] for b in blocks])
              for n in ("frequency", "real_impedance", "negative_imaginary_impedance")}
    assert joined["frequency"].size == exp["n"]
    for name, first, last in (("frequency", "f_first", "f_last"), ("real_impedance", "re_first", "re_last"),
                              ("negative_imaginary_impedance", "mi_first", "mi_last")):
        assert joined[name][0] == pytest.approx(exp[first], rel=1e-6)
        assert joined[name][-1] == pytest.approx(exp[last], rel=1e-6)
    resistances = {block: v for v, _, block in _outputs(store, result, "ElectricResistance")}
    sigmas = {block: v for v, _, block in _outputs(store, result, "IonicConductivity")}
    assert len(resistances) == len(sigmas) == exp["spectra"]
    for block, r in resistances.items():
        assert sigmas[block] == pytest.approx(150.0 / r)  # 1.5 1/cm = 150 1/m; S/m
        spectrum = blocks[0] if block is None else block
        assert arrays[(spectrum, "real_impedance")].min() * 0.5 < r < arrays[(spectrum, "real_impedance")].max()
    assert _ask(store, result, "?m chameo:hasCharacterisationEnvironment/chameo:hasCharacterisationEnvironmentProperty "
                "?t . ?t a emmo:EMMO_affe07e4_e9bc_4852_86c6_69e26182a17f ; "
                f"{VALUE} ?kelvin FILTER(ABS(?kelvin - 298.15) < 1e-6)")
    assert _ask(store, result, "?a a battkg:AnalysisActivity ; prov:wasInformedBy ?m ; prov:used ?h5 ; "
                "battkg:resistanceMethod 'hf_intercept' . ?h5 battkg:hasArray ?array")


MADAP = "eis/madap_conductivity_Dataframe_STRUCTURED_all508.csv"


@requires_shared_samples
def test_madap_experiment_gives_formulation_molality_temperatures_and_conductivity(store: Repository) -> None:
    (entry,) = [e.values[0] for e in manifest_entries("eis") if e.values[0]["path"] == MADAP]
    oracle = entry["oracle"]
    result = _ingest(store, "eis", SAMPLES / MADAP, experiment=oracle["first_experimentID"],
                     resistance_method="R0-CPE1")
    # MADAP's own values come back unchanged as the file's analysis; the first row is the oracle's first.
    madap_sigma = [v for v, role, _ in _outputs(store, result, "IonicConductivity") if role == "MADAP conductivity"]
    madap_r = [v for v, role, _ in _outputs(store, result, "ElectricResistance") if role == "MADAP fitted resistance"]
    assert oracle["conductivity_S_per_cm"]["first"] * 100 in [pytest.approx(v) for v in madap_sigma]
    assert oracle["resistance_Ohm"]["first"] in [pytest.approx(v) for v in madap_r]
    # battkg's own R0-CPE1 fit agrees with MADAP's within 2 % on every spectrum of the experiment.
    ours = {b: v for v, role, b in _outputs(store, result, "ElectricResistance") if role == "bulk"}
    theirs = {b: v for v, role, b in _outputs(store, result, "ElectricResistance") if role == "MADAP fitted resistance"}
    assert ours.keys() == theirs.keys() and len(ours) > 1
    for block in ours:
        assert ours[block] == pytest.approx(theirs[block], rel=0.02)
    # The formulation comes from the row's component masses; LiPF6 molality per kg of solvent.
    grams = oracle["row0_formulation_g"]
    expected = grams["LiPF6 [g]"] / 151.905 / (grams["PC [g]"] + grams["EC [g]"] + grams["EMC [g]"]) * 1000
    molality = list(store.graphs.query(f"""SELECT ?v WHERE {{ GRAPH <{result.record_iri}> {{
        ?s battkg:hasFormulation/echem:electrochemistry_8784ef24_320b_4a3d_b200_654aec6c271c ?salt .
        ?salt a chemsub:substance_0deb4fe8_b0c0_4e3f_8848_64435e5c0771 ;
              emmo:EMMO_e1097637_70d2_4895_973f_2396f04fa204 ?q .
        ?q a emmo:EMMO_ead7c629_824a_410f_afec_579f08894c78 ; {VALUE} ?v }} }}""", graphs=None))
    assert [float(r["v"].value) for r in molality] == [pytest.approx(expected, rel=1e-3)]
    # Each spectrum's temperature is a parameter of its block (the shape accepts it for σ).
    temperatures = list(store.graphs.query(f"""SELECT ?v WHERE {{ GRAPH <{result.record_iri}> {{
        ?m chameo:hasMeasurementParameter ?q . ?q a emmo:EMMO_affe07e4_e9bc_4852_86c6_69e26182a17f ; {VALUE} ?v }} }}""",
                                           graphs=None))
    assert oracle["temperature_C"]["first"] + 273.15 in [pytest.approx(float(r["v"].value)) for r in temperatures]


@requires_shared_samples
def test_madap_table_with_several_electrolytes_is_refused_naming_them(store: Repository) -> None:
    before = snapshot(store)
    with pytest.raises(MetadataError, match="holds 4 experiments") as info:
        ingest_file(store, "eis", SAMPLES / MADAP, UserMetadata(sample="S-1"))
    assert "--experiment" in str(info.value) and str(SAMPLES / MADAP) in str(info.value)
    assert snapshot(store) == before


# ------------------------------------------------------------------------------------------ bad input


def _write_mpt_like_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("time_s,voltage_V,current_A,cycle\n" + "\n".join(rows) + "\n")
    return path


COLUMNS = {"time": "time_s", "voltage": "voltage_V", "current": "current_A", "cycle_index": "cycle"}


def test_generic_csv_with_column_map_through_cli_and_bad_cell_is_reported(tmp_path: Path) -> None:
    from battkg.cli import app

    csv = _write_mpt_like_csv(tmp_path / "run.csv", [f"{i * 10},{3.5 + 0.001 * i},{0.01 if i < 5 else -0.01},1"
                                                     for i in range(10)])
    runner = CliRunner()
    store_dir = tmp_path / "store"
    args = ["ingest", "cycling", str(csv), "--sample", "C-1", "--store", str(store_dir), "--formation-cycles", "0"]
    mapped = [*args, *[f"--column-map={k}={v}" for k, v in COLUMNS.items()]]
    ok = runner.invoke(app, mapped)
    assert ok.exit_code == 0, ok.output
    missing = runner.invoke(app, [*args, "--format", "cycling.generic.csv"])
    assert missing.exit_code == 1 and "column mapping" in missing.output and str(csv) in missing.output
    bad_meta = tmp_path / "bad.meta.json"
    bad_meta.write_text(json.dumps({"formulation": [{"name": "LiPF6", "amount": 1, "kind": "molality"},
                                                    {"smiles": "C1CC", "amount": 1, "kind": "mass fraction"}]}))
    before = sorted(p.name for p in (store_dir / "blobs").rglob("*") if p.is_file())
    bad = runner.invoke(app, [*mapped, "--meta", str(bad_meta), "--sample", "C-2"])
    assert bad.exit_code == 1 and "formulation[1]" in bad.output and "SMILES" in bad.output
    assert sorted(p.name for p in (store_dir / "blobs").rglob("*") if p.is_file()) == before


def test_reader_options_from_the_cli_convert_units_and_sign_and_refuse_unknown_names(tmp_path: Path) -> None:
    """--reader-option reaches the reader (mA -> A, discharge-positive -> charge-positive); a typo or a
    non-number is refused before anything is read, naming the option and the ones that exist."""
    from battkg.cli import app

    csv = tmp_path / "run_mA.csv"
    csv.write_text("time_s,voltage_V,current_mA,cycle\n" + "\n".join(
        f"{i * 10},{3.5 + 0.001 * i},{-20 if i < 5 else 30},1" for i in range(10)) + "\n")
    runner = CliRunner()
    store_dir = tmp_path / "store"
    args = ["ingest", "cycling", str(csv), "--sample", "C-1", "--store", str(store_dir), "--formation-cycles", "0",
            "--column-map", "time=time_s", "--column-map", "voltage=voltage_V", "--column-map", "current=current_mA",
            "--column-map", "cycle_index=cycle"]
    ok = runner.invoke(app, [*args, "--reader-option", "units.current=mA", "--reader-option", "current_sign=-1"])
    assert ok.exit_code == 0, ok.output
    record_id = ok.stdout.strip().splitlines()[-1]
    with open_repository(store_dir) as repo:
        result = IngestResult(record_id, record_iri(record_id), True, csv, "cycling.generic.csv", 0, [], {})
        current = _arrays(repo, result)[("timeseries", "current")]
    assert current.tolist() == pytest.approx([0.02] * 5 + [-0.03] * 5)
    before = sorted(p.name for p in (store_dir / "blobs").rglob("*") if p.is_file())
    typo = runner.invoke(app, [*args, "--sample", "C-2", "--reader-option", "curent_sign=-1"])
    assert typo.exit_code == 2 and "unknown reader option 'curent_sign'" in typo.stderr
    assert "current_sign" in typo.stderr and "test_id" in typo.stderr
    not_a_number = runner.invoke(app, [*args, "--sample", "C-2", "--reader-option", "test_id=two"])
    assert not_a_number.exit_code == 2 and "test_id='two': must be a whole number" in not_a_number.stderr
    assert sorted(p.name for p in (store_dir / "blobs").rglob("*") if p.is_file()) == before


@pytest.mark.parametrize("rows, fields, error, fragments", [
    ([f"{i},3.5,0.01,1" for i in range(5)] + ["2,3.5,0.01,1"], {}, MetadataError, ["time goes backwards", "record 6"]),
    ([f"{i},3.5,x,1" for i in range(5)], {}, FormatError, ["line", "current_A"]),
    ([f"{i},3.5,0.01,1" for i in range(5)], {"formation_cycles": "two"}, MetadataError, ["formation_cycles"]),
    ([f"{i},3.5,0.01,1" for i in range(5)], {"end_of_life_threshold": "1.5"}, MetadataError,
     ["end_of_life_threshold", "(0, 1]"]),
])
def test_bad_cycling_input_names_file_and_rule_and_stores_nothing(tmp_path: Path, rows: list[str], fields: dict,
                                                                  error: type, fragments: list[str]) -> None:
    csv = _write_mpt_like_csv(tmp_path / "bad.csv", rows)
    with open_repository(tmp_path / "store") as repo:
        before = snapshot(repo)
        with pytest.raises(error) as info:
            user = user_metadata("cycling", csv, {"sample": "C-1", **fields})
            ingest_file(repo, "cycling", csv, user, format_id="cycling.generic.csv", reader_options={"columns": COLUMNS})
        for fragment in fragments:
            assert fragment in str(info.value)
        assert snapshot(repo) == before


@requires_shared_samples
@pytest.mark.parametrize("fields, fragments", [
    ({"cell_constant": "1.5"}, ["cell_constant", "unit"]),
    ({"cell_constant": "1.5 ohm"}, ["cell_constant", "inverse length"]),
    ({"cell_constant": "1.5 1/cm"}, ["conditions.temperature", "temperature"]),
    ({"resistance_method": "magic"}, ["resistance_method", "intercept"]),
])
def test_bad_eis_metadata_is_refused_with_field_and_rule(tmp_path: Path, fields: dict, fragments: list[str]) -> None:
    path = SAMPLES / "eis/eclab_peis.mpt"
    with open_repository(tmp_path / "store") as repo:
        before = snapshot(repo)
        with pytest.raises(MetadataError) as info:
            ingest_file(repo, "eis", path, user_metadata("eis", path, {"sample": "E-1", **fields},
                                                         meta_file=tmp_path / "none"))
        for fragment in fragments:
            assert fragment in str(info.value)
        assert snapshot(repo) == before


# ------------------------------------------------------------------------------------------ shapes


def _violations(document: dict[str, Any]) -> list[str]:
    from battkg.record import jsonld_to_quads
    from battkg.validation import validate_graph

    iri = document["@graph"][0]["@id"]
    with pytest.raises(ShapeViolation) as info:
        validate_graph(jsonld_to_quads(document, iri), iri, source="test")
    return [str(v) for v in info.value.violations]


def _document(repo: Repository, result: IngestResult) -> dict[str, Any]:
    """The stored record back as an expanded-IRI JSON-LD document (for mutating in shape tests)."""
    from pyld import jsonld

    import pyoxigraph as ox

    text = ox.serialize([ox.Triple(q.subject, q.predicate, q.object) for q in repo.graphs.graph_quads(result.record_iri)],
                        format=ox.RdfFormat.N_TRIPLES)
    expanded = jsonld.from_rdf(text.decode(), {"format": "application/n-quads"})
    record = next(n for n in expanded if n["@id"] == result.record_iri)
    return {"@graph": [record, *[n for n in expanded if n is not record]]}


def _drop(document: dict[str, Any], predicate: str, where: Any = lambda node: True) -> dict[str, Any]:
    for node in document["@graph"]:
        if predicate in node and where(node):
            del node[predicate]
    return document


@requires_shared_samples
def test_cycling_shape_violations(store: Repository) -> None:
    result = _ingest(store, "cycling", SAMPLES / "cycling/eclab_gcpl.pr_182.1.mpr", **CELL)
    base = _document(store, result)
    status = vocabulary().iri("endOfLifeStatus")
    # "reached" without its EndOfLifeCycle output
    doc = json.loads(json.dumps(base))
    for node in doc["@graph"]:
        if status in node:
            node[status] = [{"@value": "reached"}]
            node[vocabulary().iri("hasOutput")] = [o for o in node[vocabulary().iri("hasOutput")]
                                                   if not _is(doc, o["@id"], "EndOfLifeCycle")]
    assert any("EndOfLifeCycle" in v and "shapes/cycling.ttl" in v for v in _violations(doc))
    # no cycle-summary analysis at all
    doc = json.loads(json.dumps(base))
    doc["@graph"] = [n for n in doc["@graph"] if status not in n]
    assert any("cycle-summary analysis" in v for v in _violations(doc))
    # a positive electrode that is not one
    doc = json.loads(json.dumps(base))
    positive = vocabulary().iri("PositiveElectrode")
    for node in doc["@graph"]:
        if positive in node.get("@type", []):
            node["@type"] = [t for t in node["@type"] if t != positive]
    assert any("PositiveElectrode" in v for v in _violations(doc))
    # no voltage array
    doc = json.loads(json.dumps(base))
    kind = vocabulary().iri("quantityKind")
    voltage = vocabulary().iri("CellVoltage")
    doc["@graph"] = [n for n in doc["@graph"] if not any(k.get("@id") == voltage for k in n.get(kind, []))]
    assert any("cell-voltage array" in v for v in _violations(doc))


def _is(document: dict[str, Any], node_id: str, key: str) -> bool:
    return any(n["@id"] == node_id and vocabulary().iri(key) in n.get("@type", []) for n in document["@graph"])


@requires_shared_samples
def test_eis_shape_violations(store: Repository) -> None:
    path = sample_path(manifest_entries("eis", formats=("gamry-dta",))[0].values[0])
    result = _ingest(store, "eis", path, cell_constant="1.5 1/cm", conditions={"temperature": "25 degC"})
    base = _document(store, result)
    # conductivity without any temperature
    doc = _drop(json.loads(json.dumps(base)), vocabulary().iri("hasCharacterisationEnvironment"))
    assert any("needs the measurement temperature" in v and "shapes/eis.ttl" in v for v in _violations(doc))
    # a cell constant given, but no conductivity output
    doc = json.loads(json.dumps(base))
    output = vocabulary().iri("hasOutput")
    for node in doc["@graph"]:
        if output in node and vocabulary().iri("AnalysisActivity") in node.get("@type", []):
            node[output] = [o for o in node[output] if not _is(doc, o["@id"], "IonicConductivity")]
    assert any("must output the ionic conductivity" in v for v in _violations(doc))
    # no analysis method recorded
    doc = _drop(json.loads(json.dumps(base)), vocabulary().iri("resistanceMethod"))
    assert any("bulk-resistance analysis" in v for v in _violations(doc))
