"""The capabilities' JSON Schemas as a validator of requests and results.

FINALES2 validates request parameters (and result parameters) on POST but never result
``data`` (GUIDE §1.4): battkg checks all three with ``jsonschema`` (draft 2020-12, the
dialect the schemas are generated in) and stores the first problem as the record's
validation message.  The schemas come from capability objects of the same import or
from capability records already in the store (the newest row of a (quantity, method) wins).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from battkg.mappers.finales.load import FinalesObject

FINALES = "https://w3id.org/battkg/finales#"


@lru_cache(maxsize=256)
def _validator(schema_text: str) -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(json.loads(schema_text))


def first_problem(schema: dict[str, Any], instance: Any, prefix: str) -> str | None:
    """The most relevant validation error as "path: message", or None when it conforms."""
    from jsonschema.exceptions import best_match

    validator = _validator(json.dumps(schema, sort_keys=True))
    error = best_match(validator.iter_errors(instance))
    if error is None:
        return None
    path = prefix + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
    return f"{path}: {error.message[:300]} (rule: {error.validator})"


class SchemaRegistry:
    """(quantity, method) → (parameter schema, result schema)."""

    def __init__(self) -> None:
        self.schemas: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = {}

    @classmethod
    def from_store(cls, repo: Any) -> "SchemaRegistry":
        registry = cls()
        rows = repo.graphs.query(f"""
            SELECT ?q ?m ?spec ?out ?created WHERE {{
              ?record <{FINALES}finalesObject> ?c ; dcterms:created ?created .
              ?c a <{FINALES}FinalesCapability> ; <{FINALES}quantityName> ?q ; <{FINALES}methodName> ?m ;
                 <{FINALES}jsonSchemaSpecifications> ?spec ; <{FINALES}jsonSchemaResultOutput> ?out .
            }} ORDER BY ?created""")
        for row in rows:
            registry.schemas[(row["q"].value, row["m"].value)] = (json.loads(row["spec"].value),
                                                                   json.loads(row["out"].value))
        return registry

    def add(self, capability: FinalesObject) -> None:
        body = capability.body
        self.schemas[(body["quantity"], body["method"])] = (body["json_schema_specifications"],
                                                             body["json_schema_result_output"])

    def check(self, obj: FinalesObject) -> tuple[bool, str | None]:
        """(schema known, first problem or None) for a request or result; (False, None) otherwise."""
        if obj.kind not in ("request", "result"):
            return False, None
        checked = False
        for method in obj.methods:
            pair = self.schemas.get((obj.quantity or "", method))
            if pair is None:
                continue
            checked = True
            spec, output = pair
            parameters = obj.body["parameters"]
            if method not in parameters:
                return True, f"parameters: no entry for method {method!r} (rule: required)"
            problem = first_problem(spec, parameters[method], f"parameters.{method}")
            if problem is None and obj.kind == "result":
                problem = first_problem(output, obj.body["data"], "data")
            if problem:
                return True, problem
        return checked, None
