"""Units of FINALES values: the result's own unit, else the capability schema's, else none.

FINALES results carry bare numbers; the unit lives in the capability's result schema
(``"unit": "siemens / meter"``) and tenants did not all follow it (GUIDE §3.3: aiida-finales
posted S/cm).  A unit the result states (``unit`` key or "0.55 mS/cm" strings) is converted to
the canonical S/m; a value whose unit cannot be determined is kept as given and flagged, never
stored as an S/m quantity.
"""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path

import pytest

from battkg.mappers.finales.importer import import_paths
from battkg.query import frame, run
from battkg.store import open_repository
from tests.conftest import FINALES_REFERENCE

TWO_ELECTRODE = FINALES_REFERENCE / "examples" / "results" / "conductivity" / "two_electrode.json"
CAPABILITY = FINALES_REFERENCE / "serialized_quantities" / "conductivity" / "two_electrode.json"
pytestmark = pytest.mark.skipif(not TWO_ELECTRODE.is_file(), reason="../shared/reference/finales is absent")


@pytest.fixture()
def repo(tmp_path: Path):  # type: ignore[no-untyped-def]
    repository = open_repository(tmp_path / "store")
    yield repository
    repository.close()


def _variant(tmp_path: Path, name: str, values: list, **block_keys: object) -> tuple[Path, dict]:
    """The reference two_electrode result, as the broker serves it, with other values (and unit
    keys) in data.conductivity."""
    body = copy.deepcopy(json.loads(TWO_ELECTRODE.read_text()))
    body["data"]["conductivity"]["values"] = values
    body["data"]["conductivity"].update(block_keys)
    body["data"]["conductivity"]["meta"] = {"success": True, "rating": 5}
    served = {"uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, name)), "ctime": "2026-11-20T10:00:00",
              "status": "original", "result": body}
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps([served]))
    return path, body


def _values(repo, path: Path) -> list[list]:  # type: ignore[no-untyped-def]
    """(stored S/m value, original value, original unit, unit source) of the result imported from ``path``."""
    return run(repo, f"""
        SELECT ?v ?ov ?ou ?src WHERE {{
          ?record finales:importedFrom "{path}" ; finales:finalesObject ?result .
          ?result emmo:EMMO_c4bace1d_4db0_4cd3_87e9_18122bae2840 ?q .
          ?q a echem:electrochemistry_25dabdc2_68bf_4a38_8cbe_11be017358bc ;
             emmo:EMMO_8ef3cd6d_ae58_4a8d_9fc0_ad8f49015cd0/emmo:EMMO_faf79f53_749d_40b2_807c_d34244c192f4 ?v ;
             finales:unitSource ?src .
          OPTIONAL {{ ?q battkg:originalValue ?ov ; battkg:originalUnit ?ou }} }} ORDER BY ?v""").values()


def _flags(repo, path: Path) -> tuple[list, list]:  # type: ignore[no-untyped-def]
    """(unitUndetermined paths, ingest warnings) of the record imported from ``path``."""
    undetermined = run(repo, f"""SELECT ?u WHERE {{ ?record finales:importedFrom "{path}" ; finales:finalesObject ?r .
                                  ?r finales:unitUndetermined ?u }}""").values()
    warnings = run(repo, f"""SELECT ?w WHERE {{ ?record finales:importedFrom "{path}" ; battkg:ingestWarning ?w }}""").values()
    return [r[0] for r in undetermined], [r[0] for r in warnings]


def test_units_stated_in_the_result_are_converted_to_siemens_per_metre(repo, tmp_path: Path) -> None:
    import_paths(repo, [CAPABILITY], raise_errors=True)
    s_per_cm, _ = _variant(tmp_path, "s_per_cm", [0.0055, 0.0057], unit="S/cm")
    ms_per_cm, _ = _variant(tmp_path, "ms_per_cm", [5.5], units="mS/cm")
    strings, _ = _variant(tmp_path, "strings", ["5.5 mS/cm", "0.0057 S/cm"])
    report = import_paths(repo, [s_per_cm, ms_per_cm, strings], raise_errors=True)
    assert report.created == 3 and report.errors == []
    assert _values(repo, s_per_cm) == [
        [pytest.approx(0.55), pytest.approx(0.0055), "S/cm", "result data.conductivity.unit"],
        [pytest.approx(0.57), pytest.approx(0.0057), "S/cm", "result data.conductivity.unit"]]
    assert _values(repo, ms_per_cm) == [[pytest.approx(0.55), pytest.approx(5.5), "mS/cm",
                                        "result data.conductivity.unit"]]
    assert [row[0] for row in _values(repo, strings)] == [pytest.approx(0.55), pytest.approx(0.57)]
    assert [row[3] for row in _values(repo, strings)] == ["result data.conductivity.values[0]",
                                                          "result data.conductivity.values[1]"]
    # valid-results reads the converted values (mean of a result's values, in S/m).
    means = sorted(frame(repo, "valid-results", {"quantity": "conductivity"})["value"].round(4))
    assert means == [0.55, 0.56, 0.56]


def test_without_a_unit_the_capability_schema_decides(repo, tmp_path: Path) -> None:
    import_paths(repo, [CAPABILITY], raise_errors=True)
    bare, _ = _variant(tmp_path, "bare", [0.6])
    import_paths(repo, [bare], raise_errors=True)
    assert _values(repo, bare) == [[pytest.approx(0.6), None, None, "capability schema conductivity/two_electrode"]]
    assert _flags(repo, bare)[0] == []


def test_an_undeterminable_unit_is_never_stored_as_siemens_per_metre(repo, tmp_path: Path) -> None:
    # No capability known and no unit in the result: the unit is unknown.
    orphan, _ = _variant(tmp_path, "orphan", [0.6])
    # A unit that is not a conductivity unit, and two unit keys that disagree (capability known).
    wrong, _ = _variant(tmp_path, "wrong", [0.6], unit="S")
    clash, _ = _variant(tmp_path, "clash", [0.6], unit="S/m", units="S/cm")
    junk, _ = _variant(tmp_path, "junk", ["0.6 furlongs"])
    words, _ = _variant(tmp_path, "words", ["high"])
    import_paths(repo, [orphan], raise_errors=True)
    import_paths(repo, [CAPABILITY], raise_errors=True)
    report = import_paths(repo, [wrong, clash, junk, words], raise_errors=True)
    assert report.created == 4
    for path, says in ((orphan, "no unit in the result and no unit for it in a known capability schema"),
                       (wrong, "'S' is not a unit of IonicConductivity"), (clash, "disagree"),
                       (junk, "'furlongs' is not a unit of IonicConductivity"),
                       (words, "'high' is not a number with a unit")):
        undetermined, warnings = _flags(repo, path)
        assert _values(repo, path) == [], path.name
        assert undetermined == ["data.conductivity.values"], path.name
        assert any(says in w for w in warnings), (path.name, warnings)
    # The values stay readable as given, and no optimiser-facing query sees them.
    kept = run(repo, f"""SELECT ?v WHERE {{ ?record finales:importedFrom "{orphan}" ; finales:finalesObject ?r .
                          ?r <https://w3id.org/battkg/finales/field#conductivity.values> ?v }}""").values()
    assert [json.loads(row[0]) for row in kept] == [[0.6]]
    assert frame(repo, "valid-results", {"quantity": "conductivity"}).empty
    assert frame(repo, "cq7-conductivity-vs-molality").empty
