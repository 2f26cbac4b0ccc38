"""Electrolyte formulations as first-class, comparable samples.

One model serves every source: the EIS/cycling sidecar of a lab measurement, a FINALES
request or result, an MD simulation set-up.  A formulation is a list of components
(identified by SMILES and/or InChIKey, or by a name the ontology knows, e.g. ``EC``),
each with an amount given as amount (mole) fraction, mass fraction, volume fraction or
molality.

Why normalise: the optimiser posts mole fractions, a lab writes "1 m LiPF6 in EC:EMC 3:7
by weight".  When every component's molar mass is known (from its SMILES via RDKit), both
are converted to amount fractions; the formulation IRI is derived from the sorted
``InChIKey=fraction`` pairs rounded to ``FRACTION_DIGITS`` decimals, so the same
electrolyte from different sources is one node and experiment and simulation join on it.
The graph holds the canonical form only (rounded amount fractions, names from the ontology),
so every source that describes one electrolyte writes identical triples about its node; the
amounts as given stay in the source (the raw file, the FINALES JSON) the record keeps.

Salt molality (mol of salt per kg of all non-salt components) is computed when the
molar masses are known; a salt is a component whose structure carries formal charges.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterable, Mapping

from battkg.errors import MetadataError

DATA = "https://w3id.org/battkg/id/"
FORMULATION_NAMESPACE = uuid.UUID("5d0c7f0e-2a3c-4d55-9a53-4d1f5a0b7c21")
FRACTION_DIGITS = 4  # identity tolerance: 1e-4 in amount fraction

# Amount kinds: battkg name -> (ontology quantity key, unit in which the value is given)
AMOUNT_KINDS: dict[str, tuple[str, str]] = {
    "amount_fraction": ("AmountFraction", "dimensionless"),
    "mass_fraction": ("MassFraction", "dimensionless"),
    "volume_fraction": ("VolumeFraction", "dimensionless"),
    "molality": ("Molality", "mol/kg"),
}
# Spellings seen in the wild (FINALES "molPerMol"/"molar fraction", lab sheets "wt").
AMOUNT_KIND_ALIASES: dict[str, str] = {
    "amount_fraction": "amount_fraction", "amount fraction": "amount_fraction", "molpermol": "amount_fraction",
    "molar fraction": "amount_fraction", "mole fraction": "amount_fraction", "mol/mol": "amount_fraction",
    "molar_fraction": "amount_fraction", "mole_fraction": "amount_fraction", "x": "amount_fraction",
    "mass_fraction": "mass_fraction", "mass fraction": "mass_fraction", "weight fraction": "mass_fraction",
    "wt": "mass_fraction", "g/g": "mass_fraction", "kg/kg": "mass_fraction",
    "volume_fraction": "volume_fraction", "volume fraction": "volume_fraction", "vol": "volume_fraction",
    "l/l": "volume_fraction", "molality": "molality", "mol/kg": "molality", "molperkg": "molality",
}


def amount_kind(text: str, *, field_name: str = "fraction_type", source: str | None = None) -> str:
    """The battkg amount kind for a spelling such as ``molPerMol`` or ``mass fraction``."""
    kind = AMOUNT_KIND_ALIASES.get(str(text).strip().lower())
    if kind is None:
        known = sorted({k for k in AMOUNT_KIND_ALIASES if " " in k or "/" in k} | set(AMOUNT_KINDS))
        raise MetadataError(field_name, f"unknown amount kind {text!r}; use one of {', '.join(known)}", source=source)
    return kind


@dataclass(frozen=True)
class Substance:
    """What is known about one chemical: identifiers, molar mass, ontology class."""

    inchikey: str | None
    smiles: str | None
    name: str | None
    molar_mass: float | None  # g/mol
    is_salt: bool
    ontology_class: str | None  # chemical-substance class IRI when battkg's ontology knows it
    ontology_label: str | None = None  # its prefLabel: the one name every source's record uses


@dataclass(frozen=True)
class Component:
    """One component of a formulation with its amount as given."""

    substance: Substance
    amount: float
    kind: str  # a key of AMOUNT_KINDS

    @property
    def key(self) -> str:
        """Identity of the substance: InChIKey, else canonical SMILES, else the name."""
        s = self.substance
        return s.inchikey or s.smiles or f"name:{(s.name or '').lower()}"

    @property
    def label(self) -> str:
        """The substance's canonical name: ontology label, else SMILES, InChIKey or the given name."""
        s = self.substance
        return s.ontology_label or s.smiles or s.inchikey or s.name or "component"


@dataclass(frozen=True)
class Formulation:
    """An electrolyte formulation; build with :func:`parse_formulation`."""

    components: tuple[Component, ...]
    amount_fractions: Mapping[str, float] | None = field(default=None, compare=False)  # by component key

    @property
    def identity(self) -> str:
        """Canonical text the IRI is derived from (see module docstring)."""
        if self.amount_fractions is not None:
            parts = [f"{key}={self.amount_fractions[key]:.{FRACTION_DIGITS}f}" for key in sorted(self.amount_fractions)]
            return "amount_fraction;" + ";".join(parts)
        parts = sorted(f"{c.key}={c.kind}:{c.amount:.6g}" for c in self.components)
        return "as_given;" + ";".join(parts)

    @property
    def iri(self) -> str:
        return f"{DATA}formulation/{uuid.uuid5(FORMULATION_NAMESPACE, self.identity)}"

    @property
    def label(self) -> str:
        salts = [c for c in self.components if c.substance.is_salt]
        solvents = [c for c in self.components if not c.substance.is_salt]
        molality = self.salt_molality()
        salt_text = " + ".join(
            f"{c.label} {molality[c.key]:.3g} mol/kg" if c.key in molality else c.label for c in salts)
        solvent_text = ":".join(c.label for c in solvents)
        return f"{salt_text} in {solvent_text}" if salt_text and solvent_text else (salt_text or solvent_text)

    def salt_molality(self) -> dict[str, float]:
        """mol of each salt per kg of the non-salt components, when computable (else empty)."""
        given = {c.key: c.amount for c in self.components if c.substance.is_salt and c.kind == "molality"}
        if given:
            return given
        x = self.amount_fractions
        if x is None:
            return {}
        solvent_mass = sum(x[c.key] * c.substance.molar_mass for c in self.components  # type: ignore[operator]
                           if not c.substance.is_salt)
        if solvent_mass <= 0:
            return {}
        return {c.key: x[c.key] / solvent_mass * 1000.0 for c in self.components if c.substance.is_salt}

    def canonical(self) -> "Formulation":
        """The form the graph stores: amount fractions rounded as in the identity (or amounts as
        given to 6 significant digits when they cannot be normalised), components sorted."""
        components = sorted(self.components, key=lambda c: c.key)
        if self.amount_fractions is not None:
            rounded = {key: round(value, FRACTION_DIGITS) for key, value in self.amount_fractions.items()}
            return Formulation(tuple(Component(c.substance, rounded[c.key], "amount_fraction") for c in components),
                               rounded)
        return Formulation(tuple(Component(c.substance, float(f"{c.amount:.6g}"), c.kind) for c in components))

    def jsonld_nodes(self) -> list[dict[str, Any]]:
        """The canonical formulation as JSON-LD nodes (IRI guide's electrolyte pattern).

        Identical for every source describing the same electrolyte (see :meth:`canonical`), so
        copies of these nodes in several records never give one node two different values.
        """
        from battkg.ontology import vocabulary

        canonical = self.canonical()
        if canonical is not self and canonical.components != self.components:
            return canonical.jsonld_nodes()
        vocab = vocabulary()
        iri = self.iri
        component_nodes: list[dict[str, Any]] = []
        solutes, solvents = [], []
        for c in self.components:
            node_id = f"{iri}#{_fragment(c.key)}"
            types = ["ChemicalSubstance"]
            if c.substance.ontology_class:
                types.insert(0, vocab.key_of.get(c.substance.ontology_class, c.substance.ontology_class))
            quantity_key, _ = AMOUNT_KINDS[c.kind]
            node: dict[str, Any] = {
                "@id": node_id, "@type": types, "label": c.label,
                "hasProperty": [_value_node(f"{node_id}-amount", quantity_key, c.amount, AMOUNT_KINDS[c.kind][1])],
            }
            if c.substance.inchikey:
                node["inchiKey"] = c.substance.inchikey
            if c.substance.smiles:
                node["canonicalSMILES"] = c.substance.smiles
            component_nodes.append(node)
            (solutes if c.substance.is_salt else solvents).append(node_id)
        electrolyte: dict[str, Any] = {
            "@id": iri, "@type": ["LiquidElectrolyte", "Electrolyte", "Entity"], "label": self.label,
            "formulationKey": self.identity, "hasConstituent": [n["@id"] for n in component_nodes],
        }
        if solutes:
            electrolyte["hasSolute"] = solutes
        if solvents:
            electrolyte["hasSolvent"] = solvents
        # Salt molality sits on the salt's node, as in the IRI guide's electrolyte example, so
        # "LiPF6 molality" is: formulation hasSolute [a LithiumHexafluorophosphate; hasProperty [a Molality]].
        molality = self.salt_molality()
        for c, node in zip(self.components, component_nodes):
            if c.key in molality and c.kind != "molality":
                node["hasProperty"].append(_value_node(f"{node['@id']}-molality", "Molality", molality[c.key],
                                                       "mol/kg", role="computed"))
        return [electrolyte, *component_nodes]


def _fragment(key: str) -> str:
    return "c-" + (key if key.replace("-", "").isalnum() else hashlib.sha256(key.encode()).hexdigest()[:16])


def _value_node(node_id: str, quantity_key: str, value: float, unit: str, *, role: str | None = None) -> dict[str, Any]:
    from battkg.readers import ScalarQuantity
    from battkg.record import quantity_node

    return quantity_node(node_id, ScalarQuantity(quantity_key, float(value), unit, role), ["ConventionalProperty"])


# ------------------------------------------------------------------------------------------
# Substances: RDKit for structure-derived facts, the ontology for names and classes
# ------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _known_substances() -> dict[str, dict[str, str]]:
    """Ontology substances with an InChIKey: InChIKey -> {class, smiles, label}."""
    from battkg.ontology import _select

    rows = _select(
        """SELECT ?s ?key ?smiles ?label WHERE {
             ?s <https://w3id.org/emmo#EMMO_2856bbc2_96e1_485b_b5f8_2fdfcb0c9b92> ?key ;
                skos:prefLabel ?label .
             OPTIONAL { ?s <https://w3id.org/emmo/domain/chemical-substance#substance_7fd07cf9_9736_48be_963c_f924ada8ac46> ?smiles }
           }"""
    )
    return {r["key"]: {"class": r["s"], "smiles": r.get("smiles", ""), "label": r["label"]} for r in rows}


def _rdkit_facts(smiles: str, *, field_name: str, source: str | None) -> tuple[str, str, float, bool]:
    """(canonical SMILES, InChIKey, molar mass g/mol, is_salt) for a SMILES string."""
    from rdkit import Chem, RDLogger
    from rdkit.Chem import Descriptors

    RDLogger.DisableLog("rdApp.*")  # RDKit prints parse errors to stderr; we raise our own
    molecule = Chem.MolFromSmiles(smiles)
    if molecule is None:
        raise MetadataError(field_name, f"not a valid SMILES string: {smiles!r}", source=source)
    charged = any(atom.GetFormalCharge() != 0 for atom in molecule.GetAtoms())
    return Chem.MolToSmiles(molecule), Chem.MolToInchiKey(molecule), float(Descriptors.MolWt(molecule)), charged


def resolve_substance(*, smiles: str | None = None, inchikey: str | None = None, name: str | None = None,
                      field_name: str = "component", source: str | None = None) -> Substance:
    """Identify a component from any of SMILES, InChIKey or an ontology name; inconsistencies are errors."""
    from battkg.ontology import vocabulary

    known = _known_substances()
    if name and not smiles and not inchikey:
        cls = vocabulary().material_class(name)
        match = next((k for k, v in known.items() if v["class"] == cls), None) if cls else None
        if match is None:
            raise MetadataError(field_name, f"{name!r} is not a substance battkg knows by name; give its SMILES "
                                "(and InChIKey)", source=source)
        inchikey = match
    if inchikey and not smiles and inchikey in known:
        smiles = known[inchikey]["smiles"] or None
    if smiles:
        canonical, computed_key, molar_mass, is_salt = _rdkit_facts(smiles, field_name=field_name, source=source)
        if inchikey and inchikey != computed_key:
            raise MetadataError(field_name, f"SMILES {smiles!r} has InChIKey {computed_key}, but {inchikey} was given",
                                source=source)
        entry = known.get(computed_key)
        return Substance(computed_key, canonical, name or (entry["label"] if entry else None), molar_mass, is_salt,
                         entry["class"] if entry else None, entry["label"] if entry else None)
    if inchikey:
        # Without a structure there is no molar mass: amounts stay as given.
        return Substance(inchikey, None, name, None, False, None)
    raise MetadataError(field_name, "a component needs a SMILES, an InChIKey or a known name", source=source)


# ------------------------------------------------------------------------------------------
# Parsing
# ------------------------------------------------------------------------------------------


def parse_formulation(entries: Iterable[Mapping[str, Any]], *, source: str | None = None,
                      field_name: str = "formulation") -> Formulation:
    """A formulation from a list of component mappings.

    Accepted shapes per component (keys are case-insensitive for SMILES/InChIKey):
      FINALES: ``{"chemical": {"SMILES": ..., "InChIKey": ...}, "fraction": 0.1, "fraction_type": "molPerMol"}``
      sidecar: ``{"name": "LiPF6", "smiles": ..., "inchikey": ..., "amount": 1.0, "kind": "molality"}``
    """
    components: list[Component] = []
    for index, entry in enumerate(entries):
        where = f"{field_name}[{index}]"
        if not isinstance(entry, Mapping):
            raise MetadataError(where, "must be a mapping with the component's identifiers and amount", source=source)
        chemical = entry.get("chemical") if isinstance(entry.get("chemical"), Mapping) else entry
        lowered = {str(k).lower(): v for k, v in chemical.items()}
        substance = resolve_substance(smiles=lowered.get("smiles"), inchikey=lowered.get("inchikey"),
                                      name=entry.get("name") or lowered.get("name"), field_name=where, source=source)
        amount = entry.get("fraction", entry.get("amount"))
        kind_text = entry.get("fraction_type", entry.get("kind"))
        if amount is None or kind_text is None:
            raise MetadataError(where, "needs an amount (fraction/amount) and its kind (fraction_type/kind)",
                                source=source)
        try:
            value = float(amount)
        except (TypeError, ValueError):
            raise MetadataError(f"{where}.fraction", f"must be a number (got {amount!r})", source=source) from None
        if not math.isfinite(value) or value < 0:
            raise MetadataError(f"{where}.fraction", f"must be a finite, non-negative number (got {value})",
                                source=source)
        components.append(Component(substance, value, amount_kind(kind_text, field_name=f"{where}.fraction_type",
                                                                   source=source)))
    if not components:
        raise MetadataError(field_name, "a formulation needs at least one component", source=source)
    keys = [c.key for c in components]
    if len(set(keys)) != len(keys):
        duplicate = next(k for k in keys if keys.count(k) > 1)
        raise MetadataError(field_name, f"component {duplicate} is listed twice", source=source)
    _check_fraction_sums(components, field_name, source)
    return Formulation(tuple(components), _amount_fractions(components))


def formulation_from_field(text: str, *, field_name: str = "formulation", source: str | None = None) -> Formulation:
    """A formulation from a metadata field as the ingest path carries it (canonical JSON text of a list).

    ``battkg.ingest.pipeline.user_metadata`` turns a sidecar list into JSON text; this is the inverse.
    """
    import json

    try:
        entries = json.loads(text)
    except json.JSONDecodeError:
        raise MetadataError(field_name, "must be a list of components such as "
                            "[{name: LiPF6, amount: 1.0, kind: molality}, {name: EC, amount: 0.5, kind: mass fraction}]",
                            source=source) from None
    if not isinstance(entries, list):
        raise MetadataError(field_name, "must be a list of components (name/smiles/inchikey, amount, kind)",
                            source=source)
    return parse_formulation(entries, source=source, field_name=field_name)


def _check_fraction_sums(components: list[Component], field_name: str, source: str | None) -> None:
    for kind in ("amount_fraction", "mass_fraction", "volume_fraction"):
        values = [c.amount for c in components if c.kind == kind]
        if values and all(c.kind == kind for c in components) and abs(sum(values) - 1.0) > 0.02:
            raise MetadataError(field_name, f"{kind.replace('_', ' ')}s sum to {sum(values):.4f}, not 1", source=source)


def _amount_fractions(components: list[Component]) -> dict[str, float] | None:
    """Amount fractions of all components, when the amounts and molar masses allow it."""
    kinds = {c.kind for c in components}
    if kinds == {"amount_fraction"}:
        moles = {c.key: c.amount for c in components}
    elif any(c.substance.molar_mass is None for c in components):
        return None
    elif kinds == {"mass_fraction"}:
        moles = {c.key: c.amount / c.substance.molar_mass for c in components}  # type: ignore[operator]
    elif kinds <= {"molality", "mass_fraction"} and all(
            (c.kind == "molality") == c.substance.is_salt for c in components):
        # "1 mol/kg LiPF6 in EC:EMC 3:7 (w/w)": salts in mol per kg of solvent mixture
        solvent_total = sum(c.amount for c in components if c.kind == "mass_fraction")
        moles = {c.key: (c.amount * 1.0 if c.kind == "molality"
                         else c.amount / solvent_total / c.substance.molar_mass * 1000.0)  # type: ignore[operator]
                 for c in components}
    else:
        return None
    total = sum(moles.values())
    if total <= 0:
        return None
    return {key: value / total for key, value in moles.items()}  # rounded only in the identity

