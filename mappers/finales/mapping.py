"""FINALES objects → JSON-LD nodes in the battkg model (one record per object).

The shape of what is built (``finales:`` = https://w3id.org/battkg/finales#)::

    tenant      finales/tenant/<uuid>       FinalesTenant ⊑ prov:Agent; name, contactPerson, isActive,
                                            hasLimitation → FinalesLimitation (quantity, method, ranges)
    capability  finales/capability/<uuid>   FinalesCapability: quantityName, usesMethod → FinalesMethod,
                                            forQuantity → ontology quantity class, both JSON Schemas (@json)
    request     finales/request/<uuid>      FinalesRequest (prov:Activity): requestedBy → tenant,
                                            hasFormulation → formulation, parameters as quantities + @json
    result      finales/result/<uuid>       FinalesResult (prov:Activity): answersRequest → request,
                                            postedBy → tenant, hasMeasurementSample → sample/cell (which
                                            hasFormulation), hasOutput → quantities, finalesSuccess/Rating,
                                            hasEntry → FinalesResultEntry (one per cell of a batch/workflow)

A result's values are typed with the ontology quantity of its capability (conductivity →
IonicConductivity in S/m, EOL → CycleLife with its standard uncertainty, ...), so the
competency queries read FINALES results and instrument records alike.  FINALES values are bare
numbers: their unit is the one the result states (a ``unit``/``units`` key of the block, or
"5.5 mS/cm" strings), else the one the capability's result schema declares; each value says
which (``unitSource``) and is converted to the canonical unit.  Values whose unit cannot be
determined are kept as given (a FINALES field) and flagged ``unitUndetermined``, never stored
as S/m.  Samples and cells get
``id/sample/<id>`` IRIs from the FINALES identifiers (ASAB ``formulation_info.uuid``, AutoBASS
``cell_info.uuid``): a lab record ingested with ``--sample <that id>`` is the same node.
Arrays (RDF, capacity trajectories, capacity lists) go to HDF5, never into triples.
Keys of ``data``/``meta`` that the mapping does not know are kept as ``finales-field:<key>``
JSON literals.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from battkg.errors import MetadataError
from battkg.formulation import Formulation, parse_formulation
from battkg.ontology import DATA, vocabulary
from battkg.readers import ArrayData, Block, ScalarQuantity
from battkg.record import quantity_node, slug
from battkg.units import parse_unit, split_quantity

from battkg.mappers.finales.load import FinalesObject
from battkg.mappers.finales.schemas import SchemaRegistry

FINALES = "https://w3id.org/battkg/finales#"
FIELD = "https://w3id.org/battkg/finales/field#"
BASE = DATA + "finales/"

# FINALES quantity name → ontology quantity (context key) its values are, and the unit the schemas declare.
# (Only documentation of the registered schemas: value units are read from the result or its capability.)
QUANTITY_CONCEPTS: dict[str, tuple[str, str] | None] = {
    "conductivity": ("IonicConductivity", "siemens/meter"),
    "density": ("Density", "gram/centimeter**3"),
    "degradationEOL": ("CycleLife", "dimensionless"),
    "capacity": ("Capacity", "ampere_hour"),
    "radial_density_function": ("RadialDistributionFunction", "dimensionless"),
}
# Method → kind of process, for "experiment vs simulation vs model" questions (CQ5).
METHOD_KINDS = {
    "two_electrode": "experiment", "vibrating_tube_densimetry": "experiment", "flow": "experiment",
    "autobass_assembly": "experiment", "cycling": "experiment", "molecular_dynamics": "simulation",
    "molacular_dynamics": "simulation", "polynomial_interpolation": "model", "degradation_model": "model",
    "degradation_workflow": "workflow", "service": "service", "transport_service": "service",
}


def node_iri(kind: str, uid: str) -> str:
    return f"{BASE}{kind}/{uid}"


def method_iri(method: str) -> str:
    return f"{BASE}method/{slug(method)}"


def sample_iri(identifier: str) -> str:
    # Same pattern as battkg.record for --sample NAME, so lab records on the same sample join.
    return f"{DATA}sample/{slug(identifier)}"


def as_bool(value: Any) -> bool | None:
    """FINALES booleans arrive as true/false or as the strings "True"/"False" (GUIDE §3.3)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def as_rating(value: Any) -> int | None:
    """Ratings are 0-5 integers, posted as 4 or 4.0 (ASAB); anything else is no rating."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return int(value) if float(value).is_integer() and 0 <= value <= 5 else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def json_literal(value: Any) -> dict[str, Any]:
    """A JSON literal under a full IRI (FINALES field names are not context keys)."""
    return {"@value": value, "@type": "@json"}


def _as_json(value: Any) -> Any:
    """Value of a context key typed ``@json``: the context makes it one JSON literal as it is."""
    return value


@dataclass
class Mapped:
    """What mapping one object produced: nodes of its record, warnings, arrays for HDF5."""

    node: dict[str, Any]
    nodes: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    success: bool | None = None
    rating: int | None = None
    title: str = ""
    formulation_iris: list[str] = field(default_factory=list)
    # Nodes many records share (formulations, methods) go to one named graph each, written once:
    # a node copied into every record would repeat its triples in the union default graph.
    shared: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


# (JSON path in the result data) → unit the capability's result schema declares there, or None.
UnitLookup = Callable[[tuple[str, ...]], "str | None"]
# Canonical JSON of a formulation → (parsed formulation, its JSON-LD nodes); one per import, because
# a request and its results repeat the formulation and parsing (RDKit) costs milliseconds.
FormulationCache = dict[str, tuple[Formulation, list[dict[str, Any]]]]


class _Context:
    """Helpers shared by the per-kind mappers: quantities, formulations, extras."""

    def __init__(self, obj: FinalesObject, mapped: Mapped, schema_unit: UnitLookup | None = None,
                 formulations: FormulationCache | None = None) -> None:
        self.obj = obj
        self.mapped = mapped
        self.iri = mapped.node["@id"]
        self.schema_unit = schema_unit
        self.formulations = formulations if formulations is not None else {}
        self._counter = 0
        self._seen_nodes: set[str] = set()

    def quantity(self, key: str, value: Any, unit: str, kinds: list[str], where: str,
                 role: str | None = None) -> dict[str, Any] | None:
        number = _number(value)
        if number is None:
            if value is not None:
                self.mapped.warnings.append(f"{where}: {value!r} is not a number; kept only in the raw JSON")
            return None
        self._counter += 1
        return quantity_node(f"{self.iri}#q{self._counter}", ScalarQuantity(key, number, unit, role), kinds)

    def formulation(self, entries: Any, where: str) -> Formulation | None:
        """Parse a FINALES formulation; junk (SMILES "w") is a warning, never a crash."""
        if not isinstance(entries, list) or not entries:
            return None
        key = json.dumps(entries, sort_keys=True)
        if key not in self.formulations:
            try:
                formulation = parse_formulation(entries, source=str(self.obj.source), field_name=where)
            except MetadataError as exc:  # not cached: the message names this object's file and field
                self.mapped.warnings.append(f"{where}: formulation not resolved, kept as given ({exc})")
                return None
            self.formulations[key] = (formulation, formulation.jsonld_nodes())
        formulation, nodes = self.formulations[key]
        self.mapped.shared[formulation.iri] = nodes
        self.mapped.formulation_iris.append(formulation.iri)
        return formulation

    def unit_of_values(self, block: dict[str, Any], path: tuple[str, ...], quantity: str, where: str) -> tuple[str | None, str]:
        """(unit, where it came from) for the ``values`` of a result block, or (None, "").

        The result's own ``unit``/``units`` key wins (FINALES schemas allow extra keys; a
        tenant may post S/cm or mS/cm); else the unit the capability's result schema declares
        for that path.  Without either, or with a unit that is not one of ``quantity``, the
        unit is undetermined: the values must not be stored as if they were in the canonical
        unit (GUIDE: aiida-finales posted S/cm where the schema says S/m).
        """
        given = [block[k] for k in ("unit", "units") if k in block]
        if given:
            if len(given) == 2 and given[0] != given[1]:
                self.mapped.warnings.append(f"{where}: 'unit' {given[0]!r} and 'units' {given[1]!r} disagree")
                return None, ""
            unit = self.checked_unit(given[0], quantity, f"{where}.unit")
            return unit, f"result {where}.unit"
        declared = self.schema_unit(path) if self.schema_unit is not None else None
        if declared is None:
            self.mapped.warnings.append(
                f"{where}.values: no unit in the result and no unit for it in a known capability schema "
                f"({self.obj.quantity}/{self.obj.methods[0] if self.obj.methods else '?'}): values kept as given, "
                f"not stored as {quantity}")
            return None, ""
        unit = self.checked_unit(declared, quantity, f"capability schema unit of {where}.values")
        return unit, f"capability schema {self.obj.quantity}/{self.obj.methods[0]}"

    def checked_unit(self, unit: Any, quantity: str, where: str) -> str | None:
        """``unit`` if pint reads it as a unit of ``quantity`` (same dimension as its canonical unit)."""
        if not isinstance(unit, str) or not unit.strip():
            self.mapped.warnings.append(f"{where}: {unit!r} is not a unit")
            return None
        try:
            parsed = parse_unit(unit)
        except MetadataError:
            self.mapped.warnings.append(f"{where}: {unit!r} is not a unit pint knows")
            return None
        vocab = vocabulary()
        canonical = vocab.canonical_unit.get(vocab.iri(quantity))
        target = vocab.pint_of_unit.get(canonical, "") if canonical else ""
        if target and parse_unit(target).dimensionality != parsed.dimensionality:
            self.mapped.warnings.append(f"{where}: {unit!r} is not a unit of {quantity} (expected e.g. {target})")
            return None
        return unit

    def share_methods(self, methods: Any) -> None:
        for method in methods:
            self.mapped.shared[method_iri(method)] = [_method_node(method)]

    def add_nodes(self, nodes: list[dict[str, Any]]) -> None:
        for node in nodes:
            if node["@id"] not in self._seen_nodes:
                self._seen_nodes.add(node["@id"])
                self.mapped.nodes.append(node)

    def sample(self, info: Any, formulation: Formulation | None, fallback: str,
               types: tuple[str, ...] = ("FinalesElectrolyteSample",)) -> str:
        """The sample node for a FINALES ``*_info`` block (uuid → shared IRI) with its formulation."""
        identifier = info.get("uuid") if isinstance(info, dict) else None
        iri = sample_iri(identifier) if isinstance(identifier, str) and identifier.strip() else f"{self.iri}#{fallback}"
        node: dict[str, Any] = {"@id": iri, "@type": [*types, "Sample", "Entity"],
                                "label": identifier if isinstance(identifier, str) and identifier.strip()
                                else f"{fallback} of {self.obj.kind} {self.obj.uuid}"}
        if formulation is not None:
            node["hasFormulation"] = formulation.iri
        if isinstance(info, dict):
            for key, prop in (("name", "sampleName"), ("batch", "batchName"), ("cell_name", "cellName")):
                if isinstance(info.get(key), str):
                    node[prop] = info[key]
            date = info.get("preparation_date") or info.get("assembly_date")
            if isinstance(date, str):
                node["preparationDate"] = date  # free text in FINALES ("27.07.2023", "2023_11_24")
        self.add_nodes([node])
        return iri

    def array(self, block: str, name: str, values: Any, quantity: str, unit: str, where: str) -> None:
        try:
            array = np.asarray(values, dtype=float)
        except (TypeError, ValueError):
            self.mapped.warnings.append(f"{where}: not a numeric array; kept only in the raw JSON")
            return
        for existing in self.mapped.blocks:
            if existing.name == block:
                existing.arrays.append(ArrayData(name, array, quantity, unit))
                return
        self.mapped.blocks.append(Block(block, [ArrayData(name, array, quantity, unit)]))

    def extras(self, node: dict[str, Any], source: Any, known: set[str]) -> None:
        """Keep every key the mapping does not know as a FINALES-namespace JSON literal."""
        if not isinstance(source, dict):
            return
        for key, value in source.items():
            if key not in known and value is not None:
                node[FIELD + _field_name(key)] = json_literal(value)

    def meta(self, node: dict[str, Any], meta: Any) -> tuple[bool | None, int | None]:
        if not isinstance(meta, dict):
            return None, None
        success, rating = as_bool(meta.get("success")), as_rating(meta.get("rating"))
        if success is not None:
            node["finalesSuccess"] = success
        if rating is not None:
            node["finalesRating"] = rating
        elif meta.get("rating") is not None:
            self.mapped.warnings.append(f"meta.rating {meta.get('rating')!r} is not a rating from 0 to 5")
        self.extras(node, meta, {"success", "rating"})
        return success, rating


def _field_name(key: str) -> str:
    from urllib.parse import quote

    return quote(str(key), safe="-._~")


# ----------------------------------------------------------------------------------- per kind


def map_tenant(obj: FinalesObject) -> Mapped:
    body = obj.body
    node: dict[str, Any] = {"@id": node_iri("tenant", obj.uuid), "@type": ["FinalesTenant", "Agent"],
                            "label": body["name"], "finalesUuid": obj.uuid}
    mapped = Mapped(node, title=f"FINALES tenant {body['name']}")
    ctx = _Context(obj, mapped)
    contact = body.get("contact_person")
    if contact is not None:
        node["contactPerson"] = contact if isinstance(contact, str) else str(contact)
    if isinstance(body.get("is_active"), bool):
        node["isActive"] = body["is_active"]
    limitations = []
    for index, entry in enumerate(body["limitations"]):
        limitations.append(limitation_node(f"{node['@id']}#limitation-{index}", entry))
    node["hasLimitation"] = limitations
    node["offersMethod"] = sorted({method_iri(e["method"]) for e in body["limitations"]})
    ctx.share_methods(e["method"] for e in body["limitations"])
    ctx.extras(node, body, {"tenant_uuid", "name", "limitations", "contact_person", "is_active"})
    mapped.nodes.insert(0, node)
    return mapped


def limitation_node(iri: str, entry: dict[str, Any]) -> dict[str, Any]:
    """One (quantity, method) limitation with its ranges flattened for queries."""
    ranges = []
    for path, kind, payload in _flatten_limitations(entry.get("limitations"), ""):
        item: dict[str, Any] = {"@id": f"{iri}-{len(ranges)}", "@type": "FinalesLimitationRange",
                                "limitationField": path}
        if kind == "range":
            for key, prop in (("min", "minimumValue"), ("max", "maximumValue"), ("step", "stepValue")):
                if _number(payload.get(key)) is not None:
                    item[prop] = float(payload[key])
        else:
            item["allowedValues"] = _as_json(payload)
        ranges.append(item)
    return {"@id": iri, "@type": "FinalesLimitation", "quantityName": entry["quantity"],
            "methodName": entry["method"], "usesMethod": method_iri(entry["method"]),
            "limitationsJson": _as_json(entry.get("limitations")), "hasRange": ranges}


def _flatten_limitations(value: Any, path: str) -> list[tuple[str, str, Any]]:
    """Leaves of a limitations object: ranges ({min, max, step}) and lists of allowed values."""
    if isinstance(value, dict):
        if {"min", "max"} & set(value) and all(_number(v) is not None or v is None for v in value.values()):
            return [(path or "$", "range", value)]
        out = []
        for key, item in value.items():
            out += _flatten_limitations(item, f"{path}.{key}" if path else key)
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) and {"min", "max"} & set(v) for v in value):
        return [r for v in value for r in _flatten_limitations(v, path)]
    if value is None:
        return []
    return [(path or "$", "values", value)]


def _method_node(method: str) -> dict[str, Any]:
    node = {"@id": method_iri(method), "@type": "FinalesMethod", "label": method}
    if method in METHOD_KINDS:
        node["methodKind"] = METHOD_KINDS[method]
    return node


def map_capability(obj: FinalesObject) -> Mapped:
    body = obj.body
    node: dict[str, Any] = {
        "@id": node_iri("capability", obj.uuid), "@type": "FinalesCapability",
        "label": f"{body['quantity']} by {body['method']}", "quantityName": body["quantity"],
        "methodName": body["method"], "usesMethod": method_iri(body["method"]),
        "jsonSchemaSpecifications": _as_json(body["json_schema_specifications"]),
        "jsonSchemaResultOutput": _as_json(body["json_schema_result_output"]),
    }
    concept = QUANTITY_CONCEPTS.get(body["quantity"])
    if concept:
        node["forQuantity"] = concept[0]
    if isinstance(body.get("is_active"), bool):
        node["isActive"] = body["is_active"]
    mapped = Mapped(node, title=f"FINALES capability {body['quantity']}/{body['method']}")
    _Context(obj, mapped).extras(node, body, {"quantity", "method", "json_schema_specifications",
                                              "json_schema_result_output", "is_active"})
    mapped.nodes = [node]
    _Context(obj, mapped).share_methods([body["method"]])
    return mapped


def map_limitations(obj: FinalesObject) -> Mapped:
    body = obj.body
    node = limitation_node(node_iri("limitations", obj.uuid), body)
    node["@type"] = ["FinalesLimitation", "Entity"]
    entries = body.get("limitations")
    node["label"] = f"limitations of {body['quantity']}/{body['method']} ({len(entries) if isinstance(entries, list) else 1} tenant(s))"
    mapped = Mapped(node, title=f"FINALES limitations {body['quantity']}/{body['method']}")
    mapped.nodes = [node]
    _Context(obj, mapped).share_methods([body["method"]])
    return mapped


def map_request(obj: FinalesObject, formulations: FormulationCache | None = None) -> Mapped:
    body = obj.body
    iri = node_iri("request", obj.uuid)
    node: dict[str, Any] = {
        "@id": iri, "@type": ["FinalesRequest", "Activity"], "finalesUuid": obj.uuid,
        "label": f"request for {body['quantity']} by {', '.join(body['methods'])}",
        "quantityName": body["quantity"], "methodName": body["methods"],
        "usesMethod": [method_iri(m) for m in body["methods"]],
        "requestedBy": node_iri("tenant", body["tenant_uuid"]),
        "wasAssociatedWith": node_iri("tenant", body["tenant_uuid"]),
        "requestParameters": _as_json(body["parameters"]),
    }
    mapped = Mapped(node, title=f"FINALES request {obj.uuid} ({body['quantity']}/{','.join(body['methods'])})")
    ctx = _Context(obj, mapped, formulations=formulations)
    ctx.share_methods(body["methods"])
    for method in body["methods"]:
        params = body["parameters"].get(method)
        if not isinstance(params, dict):
            continue
        where = f"parameters.{method}"
        formulation = ctx.formulation(params.get("formulation"), f"{where}.formulation")
        if formulation is None and isinstance(params.get("electrolyte"), dict):
            formulation = ctx.formulation(params["electrolyte"].get("formulation"), f"{where}.electrolyte.formulation")
        chemistry = params.get("battery_chemistry")
        if not isinstance(chemistry, dict) and isinstance(params.get("cell"), dict):
            chemistry = params["cell"].get("battery_chemistry")
        if formulation is None and isinstance(chemistry, dict):
            formulation = ctx.formulation(chemistry.get("electrolyte"), f"{where}.battery_chemistry.electrolyte")
        if formulation is not None:
            node["hasFormulation"] = formulation.iri
        temperature = ctx.quantity("ThermodynamicTemperature", params.get("temperature"), "kelvin",
                                   ["MeasurementParameter", "ConventionalProperty"], f"{where}.temperature")
        if temperature:
            node.setdefault("hasMeasurementParameter", []).append(temperature)
        cell_info = params.get("cell_info")
        if isinstance(cell_info, dict) and isinstance(cell_info.get("uuid"), str) and body["quantity"] != "cell_assembly":
            node["aboutSample"] = ctx.sample(cell_info, None, "cell", ("FinalesCell",))
    mapped.nodes.insert(0, node)
    return mapped


def map_result(obj: FinalesObject, schemas: SchemaRegistry | None = None,
               formulations: FormulationCache | None = None) -> Mapped:
    body = obj.body
    quantity, method = body["quantity"], obj.methods[0]
    iri = node_iri("result", obj.uuid)
    request_uuid = body.get("request_uuid") or ""
    node: dict[str, Any] = {
        "@id": iri, "@type": ["FinalesResult", "Activity"], "finalesUuid": obj.uuid,
        "label": f"{quantity} by {method} (FINALES result {obj.uuid})",
        "quantityName": quantity, "methodName": method, "usesMethod": method_iri(method),
        "postedBy": node_iri("tenant", body["tenant_uuid"]),
        "wasAssociatedWith": node_iri("tenant", body["tenant_uuid"]),
        "resultParameters": _as_json(body["parameters"]),
    }
    if METHOD_KINDS.get(method):
        node["methodKind"] = METHOD_KINDS[method]
    concept = QUANTITY_CONCEPTS.get(quantity)
    if concept:
        node["forQuantity"] = concept[0]
    if request_uuid:
        node["answersRequest"] = node_iri("request", request_uuid)
        node["wasInformedBy"] = node_iri("request", request_uuid)
    mapped = Mapped(node, title=f"FINALES result {obj.uuid} ({quantity}/{method})")
    lookup = (lambda path: schemas.result_unit(quantity, method, path)) if schemas is not None else None
    ctx = _Context(obj, mapped, lookup, formulations)
    ctx.share_methods([method])
    data = body["data"]
    params = body["parameters"].get(method) if isinstance(body["parameters"].get(method), dict) else {}
    handler = RESULT_HANDLERS.get(quantity, _map_generic)
    handler(ctx, node, data, params, quantity)
    mapped.nodes.insert(0, node)
    return mapped


# ------------------------------------------------------------------------------ result handlers


def _run_info_sample(ctx: _Context, node: dict[str, Any], data: dict[str, Any], params: dict[str, Any]) -> Formulation | None:
    run_info = data.get("run_info") if isinstance(data.get("run_info"), dict) else {}
    formulation = ctx.formulation(run_info.get("formulation"), "data.run_info.formulation")
    if formulation is None:  # the actual parameters carry the formulation too (ASAB posts what it mixed)
        formulation = ctx.formulation(params.get("formulation"), "parameters.formulation")
    if formulation is not None or run_info.get("formulation_info"):
        node["hasMeasurementSample"] = ctx.sample(run_info.get("formulation_info"), formulation, "sample")
    if formulation is not None:
        node["hasFormulation"] = formulation.iri
    if isinstance(run_info.get("internal_reference"), str):
        node["internalReference"] = run_info["internal_reference"]
    ctx.extras(node, run_info, {"formulation", "formulation_info", "internal_reference"})
    return formulation


def _values_block(ctx: _Context, node: dict[str, Any], block: Any, key: str, where: str,
                  quality: bool) -> None:
    """``{values: [..], unit?, temperature?, meta}`` → outputs (unit resolved, see
    :meth:`_Context.unit_of_values`), a temperature parameter, quality."""
    if not isinstance(block, dict):
        return
    name = where.rsplit(".", 1)[-1]
    values = block.get("values")
    if isinstance(values, (int, float, str)) and not isinstance(values, bool):
        values = [values]
    if isinstance(values, list) and values:
        unit, unit_source = ctx.unit_of_values(block, (name, "values"), key, where)
        undetermined = False
        for index, value in enumerate(values):
            value_unit, value_source, number = unit, unit_source, value
            if isinstance(value, str):  # "0.55 mS/cm": a value that carries its own unit
                try:
                    number, given = split_quantity(value, field=f"{where}.values[{index}]")
                except MetadataError:
                    ctx.mapped.warnings.append(f"{where}.values[{index}]: {value!r} is not a number with a unit")
                    undetermined = True
                    continue
                value_unit = ctx.checked_unit(given, key, f"{where}.values[{index}]")
                value_source = f"result {where}.values[{index}]"
            if value_unit is None:
                undetermined = True
                continue
            q = ctx.quantity(key, number, value_unit, ["MeasuredProperty"], f"{where}.values[{index}]",
                             role=f"value {index + 1} of {len(values)}" if len(values) > 1 else None)
            if q:
                q["unitSource"] = value_source
                node.setdefault("hasOutput", []).append(q)
        if undetermined:  # kept as given, and said so: never stored as if in the canonical unit
            node.setdefault("unitUndetermined", []).append(f"{where}.values")
            node[FIELD + _field_name(f"{name}.values")] = json_literal(values)
    temperature = ctx.quantity("ThermodynamicTemperature", block.get("temperature"), "kelvin",
                               ["MeasurementParameter", "ConventionalProperty"], f"{where}.temperature",
                               role=None if quality else where.rsplit(".", 1)[-1])
    if temperature:
        node.setdefault("hasMeasurementParameter", []).append(temperature)
    if quality:
        success, rating = ctx.meta(node, block.get("meta"))
        ctx.mapped.success, ctx.mapped.rating = success, rating
    else:
        meta_node: dict[str, Any] = {"@id": f"{node['@id']}#meta-{where.rsplit('.', 1)[-1]}", "@type": "FinalesMeta"}
        ctx.meta(meta_node, block.get("meta"))
        node.setdefault("hasMeta", []).append(meta_node)
    ctx.extras(node, {f"{name}.{k}": v for k, v in block.items()
                      if k not in ("values", "temperature", "meta", "unit", "units")}, set())


def _map_conductivity(ctx: _Context, node: dict[str, Any], data: dict[str, Any], params: dict[str, Any],
                      quantity: str) -> None:
    _run_info_sample(ctx, node, data, params)
    _values_block(ctx, node, data.get("conductivity"), "IonicConductivity", "data.conductivity",
                  quality=quantity == "conductivity")
    _values_block(ctx, node, data.get("density"), "Density", "data.density", quality=quantity == "density")
    if isinstance(data.get("viscosity"), dict):
        # The registered schema declares viscosity in g/cm³ (a schema bug): kept as given, not converted.
        ctx.mapped.warnings.append("data.viscosity kept as given: its declared unit (g/cm³) is not a viscosity unit")
    rdf = data.get("RDF") if quantity != "radial_density_function" else data
    if isinstance(rdf, dict) and rdf.get("radius") is not None:
        block = f"rdf-{ctx.obj.uuid}"
        ctx.array(block, "radius", rdf.get("radius"), "Length", "angstrom", "data.RDF.radius")
        ctx.array(block, "rdf", rdf.get("RDF"), "RadialDistributionFunction", "dimensionless", "data.RDF.RDF")
        volume = ctx.quantity("Volume", rdf.get("cell_volume"), "angstrom**3", ["MeasuredProperty"],
                              "data.RDF.cell_volume", role="simulation cell")
        if volume:
            node.setdefault("hasOutput", []).append(volume)
        ctx.extras(node, {f"RDF.{k}": v for k, v in rdf.items() if k not in ("radius", "RDF", "cell_volume")}, set())
    if quantity == "radial_density_function":
        ctx.extras(node, data, {"radius", "RDF", "cell_volume", "run_info"})
    else:
        ctx.extras(node, data, {"run_info", "conductivity", "density", "RDF"})


def _map_electrolyte(ctx: _Context, node: dict[str, Any], data: dict[str, Any], params: dict[str, Any],
                     quantity: str) -> None:
    formulation = _run_info_sample(ctx, node, data, params)
    electrolyte = data.get("electrolyte") if isinstance(data.get("electrolyte"), dict) else {}
    if formulation is None:
        formulation = ctx.formulation(electrolyte.get("formulation"), "data.electrolyte.formulation")
        if formulation is not None:
            node["hasFormulation"] = formulation.iri
    if node.get("hasMeasurementSample"):
        node["generated"] = node["hasMeasurementSample"]  # ASAB made this electrolyte sample
    # Schema: meta in data.electrolyte; the ASAB tenant code posts it at data.meta (GUIDE §3.3).
    meta = electrolyte.get("meta") if isinstance(electrolyte.get("meta"), dict) else data.get("meta")
    ctx.mapped.success, ctx.mapped.rating = ctx.meta(node, meta)
    ctx.extras(node, {f"electrolyte.{k}": v for k, v in electrolyte.items() if k not in ("formulation", "meta")}, set())
    ctx.extras(node, data, {"run_info", "electrolyte", "meta"})


def _cell(ctx: _Context, cell_info: Any, electrolyte: Any, where: str, electrolyte_info: Any = None) -> str:
    formulation = ctx.formulation(electrolyte, where) if electrolyte is not None else None
    iri = ctx.sample(cell_info, formulation, f"cell-{len(ctx.mapped.nodes)}", ("FinalesCell",))
    info = electrolyte_info
    if info is None and isinstance(cell_info, dict):
        info = cell_info.get("electrolyte_info")
    if isinstance(info, dict) and isinstance(info.get("uuid"), str) and info["uuid"].strip():
        cell_node = next(n for n in ctx.mapped.nodes if n["@id"] == iri)
        cell_node["wasDerivedFrom"] = sample_iri(info["uuid"])  # the ASAB electrolyte sample it was filled with
    return iri


def _map_cell_assembly(ctx: _Context, node: dict[str, Any], data: dict[str, Any], params: dict[str, Any],
                       quantity: str) -> None:
    outputs = data.get("batch_output") if isinstance(data.get("batch_output"), list) else []
    entries = []
    for index, item in enumerate(outputs):
        if not isinstance(item, dict):
            continue
        where = f"data.batch_output[{index}]"
        cell = item.get("cell") if isinstance(item.get("cell"), dict) else {}
        chemistry = cell.get("battery_chemistry") if isinstance(cell.get("battery_chemistry"), dict) else {}
        cell_iri = _cell(ctx, item.get("cell_info"), chemistry.get("electrolyte"),
                         f"{where}.cell.battery_chemistry.electrolyte")
        for electrode in ("anode", "cathode"):
            material = (chemistry.get(electrode) or {}).get("material") if isinstance(chemistry.get(electrode), dict) else None
            if material is not None:
                ctx.formulation(material, f"{where}.cell.battery_chemistry.{electrode}.material")  # warns on "w"
        entry: dict[str, Any] = {"@id": f"{node['@id']}#entry-{index}", "@type": "FinalesResultEntry",
                                 "entryIndex": index, "hasMeasurementSample": cell_iri, "generated": cell_iri}
        ctx.meta(entry, item.get("meta"))
        temperature = ctx.quantity("ThermodynamicTemperature", item.get("temperature"), "kelvin",
                                   ["MeasurementParameter", "ConventionalProperty"], f"{where}.temperature")
        if temperature:
            entry["hasMeasurementParameter"] = [temperature]
        for key, prop in (("manufacturing_img", "manufacturingImage"), ("sealing_time", "sealingTime")):
            if isinstance(item.get(key), str):
                entry[prop] = item[key]
        ctx.extras(entry, item, {"cell_info", "cell", "meta", "temperature", "manufacturing_img", "sealing_time"})
        ctx.extras(entry, {f"cell.{k}": v for k, v in cell.items() if k != "battery_chemistry"}, set())
        entries.append(entry)
    if entries:
        node["hasEntry"] = entries
        node["generated"] = [e["generated"] for e in entries]
    if isinstance(data.get("batch_id"), str):
        node["batchId"] = data["batch_id"]
    ctx.extras(node, data, {"batch_output", "batch_id"})


def _map_eol(ctx: _Context, node: dict[str, Any], data: dict[str, Any], params: dict[str, Any],
             quantity: str) -> None:
    formulation = _run_info_sample(ctx, node, data, params)
    chemistry = params.get("battery_chemistry") if isinstance(params.get("battery_chemistry"), dict) else {}
    if formulation is None and chemistry.get("electrolyte"):
        formulation = ctx.formulation(chemistry.get("electrolyte"), "parameters.battery_chemistry.electrolyte")
        if formulation is not None:
            node["hasFormulation"] = formulation.iri
    predictions = data.get("degradationEOL")
    single = isinstance(predictions, dict)
    items = [predictions] if single else (predictions if isinstance(predictions, list) else [])
    entries = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        where = "data.degradationEOL" if single else f"data.degradationEOL[{index}]"
        target = node if single else {"@id": f"{node['@id']}#entry-{index}", "@type": "FinalesResultEntry",
                                      "entryIndex": index}
        eol = ctx.quantity("CycleLife", item.get("end_of_life"), "dimensionless", ["MeasuredProperty"],
                           f"{where}.end_of_life", role="predicted end of life")
        if eol:
            uncertainty = _number(item.get("end_of_life_uncertainty"))
            if uncertainty is not None:
                eol["standardUncertainty"] = uncertainty
            target.setdefault("hasOutput", []).append(eol)
        block = f"eol-{ctx.obj.uuid}-{index}"
        for key in ("capacity_trajectory", "capacity_trajectory_uncertainty"):
            if item.get(key) is not None:
                ctx.array(block, key, item[key], "Capacity", "milliampere_hour", f"{where}.{key}")
        success, rating = ctx.meta(target, item.get("meta"))
        if single:
            ctx.mapped.success, ctx.mapped.rating = success, rating
        cell_info = item.get("cell_info") or params.get("cell_info")
        if isinstance(cell_info, dict):
            target["hasMeasurementSample"] = _cell(ctx, cell_info, None, where)
            if formulation is not None:
                _set_cell_formulation(ctx, target["hasMeasurementSample"], formulation)
        elif single and formulation is not None and "hasMeasurementSample" not in node:
            node["hasMeasurementSample"] = ctx.sample(None, formulation, "sample")
        ctx.extras(target, item, {"end_of_life", "end_of_life_uncertainty", "capacity_trajectory",
                                  "capacity_trajectory_uncertainty", "meta", "cell_info"})
        if not single:
            entries.append(target)
    if entries:
        node["hasEntry"] = entries
    ctx.extras(node, data, {"run_info", "degradationEOL"})


def _set_cell_formulation(ctx: _Context, cell_iri: str, formulation: Formulation) -> None:
    cell_node = next(n for n in ctx.mapped.nodes if n["@id"] == cell_iri)
    cell_node.setdefault("hasFormulation", formulation.iri)


def _map_capacity(ctx: _Context, node: dict[str, Any], data: dict[str, Any], params: dict[str, Any],
                  quantity: str) -> None:
    cell_info = data.get("cell_info") if isinstance(data.get("cell_info"), dict) else params.get("cell_info")
    if isinstance(cell_info, dict):
        node["hasMeasurementSample"] = _cell(ctx, cell_info, None, "data.cell_info")
    capacities = data.get("capacity_list")
    if isinstance(capacities, list):
        # Unit declared "Ah"; the Cycler's example values (2.5-4.3) do not fit a coin cell (GUIDE §3.3).
        ctx.array(f"capacity-{ctx.obj.uuid}", "capacity_list", capacities, "Capacity", "ampere_hour",
                  "data.capacity_list")
        node["numberOfCapacities"] = len(capacities)
    voltage = ctx.quantity("Voltage", data.get("voltage_gap_charge_discharge"), "volt", ["MeasuredProperty"],
                           "data.voltage_gap_charge_discharge", role="charge-discharge voltage gap")
    if voltage:
        node.setdefault("hasOutput", []).append(voltage)
    run_info = data.get("run_info") if isinstance(data.get("run_info"), dict) else {}
    success = as_bool(run_info.get("success"))  # the Cycler tenant's run_info, not the schema's RunInfo
    if success is not None:
        node["finalesSuccess"] = success
        ctx.mapped.success = success
    ctx.extras(node, data, {"cell_info", "capacity_list", "voltage_gap_charge_discharge"})


def _map_service(ctx: _Context, node: dict[str, Any], data: dict[str, Any], params: dict[str, Any],
                 quantity: str) -> None:
    """cycling_channel/service and transport: a success flag and what was confirmed."""
    success = as_bool(data.get("success"))
    if success is not None:
        node["finalesSuccess"] = success
        ctx.mapped.success = success
    if isinstance(data.get("reservation_id"), str):
        node["reservationId"] = data["reservation_id"]
    if isinstance(data.get("executant"), str):
        node["executant"] = data["executant"]
    location = data.get("actual_new_location")
    if isinstance(location, dict) and isinstance(location.get("Location"), dict):
        location = location["Location"]  # the shipped example wraps it once more (GUIDE §5)
    if isinstance(location, dict):
        node["locationText"] = ", ".join(str(v) for v in location.values() if v)
    ctx.extras(node, data, {"success", "reservation_id", "executant"})


def _map_generic(ctx: _Context, node: dict[str, Any], data: dict[str, Any], params: dict[str, Any],
                 quantity: str) -> None:
    """A capability battkg has no mapping for: everything is kept as FINALES fields."""
    _run_info_sample(ctx, node, data, params)
    ctx.mapped.warnings.append(f"no mapping for quantity {quantity!r}: its data is kept as FINALES fields")
    ctx.extras(node, data, {"run_info"})


RESULT_HANDLERS: dict[str, Callable[..., None]] = {
    "conductivity": _map_conductivity, "density": _map_conductivity, "radial_density_function": _map_conductivity,
    "electrolyte": _map_electrolyte, "cell_assembly": _map_cell_assembly, "degradationEOL": _map_eol,
    "capacity": _map_capacity, "cycling_channel": _map_service, "transport": _map_service,
}
MAPPERS: dict[str, Callable[[FinalesObject], Mapped]] = {
    "tenant": map_tenant, "capability": map_capability, "limitations": map_limitations,
    "request": map_request, "result": map_result,
}


def map_object(obj: FinalesObject, schemas: SchemaRegistry | None = None,
               formulations: FormulationCache | None = None) -> Mapped:
    """The JSON-LD nodes (first = the object's own node) of one FINALES object.

    ``schemas`` (a :class:`~battkg.mappers.finales.schemas.SchemaRegistry`) gives a result's
    value units when the result itself does not state them; ``formulations`` is a parse
    cache an importer keeps for the objects of one import.
    """
    if obj.kind == "result":
        return map_result(obj, schemas, formulations)
    if obj.kind == "request":
        return map_request(obj, formulations)
    return MAPPERS[obj.kind](obj)
