"""Electrochemical impedance spectroscopy readers (one module per vendor format).

Each reader returns one :class:`~battkg.readers.Block` per spectrum with the
arrays and sign conventions of :mod:`battkg.ingest.eis._common`
(``frequency``, ``real_impedance``, ``negative_imaginary_impedance``,
``impedance_modulus``, ``impedance_phase``).  The EC-Lab readers
(``biologic_mpr``, ``biologic_mpt``) name their blocks ``spectrum_<n>`` after
EC-Lab's ``cycle number`` and add ``time`` (Time, s), ``voltage``
(CellVoltage, V, the mean <Ewe>) and ``current`` (CellCurrent, A, the mean <I>).
"""

from __future__ import annotations  # noqa: E402

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from battkg.errors import MetadataError
from battkg.ingest.technique import Analysis, Derived, Technique, UserMetadata
from battkg.readers import Block, ParsedFile, ScalarQuantity

SPECTRUM_ARRAYS = ("frequency", "real_impedance", "negative_imaginary_impedance")
# --resistance-method values (lower case, as user_fields compares them) -> analysis.CIRCUITS key or None.
RESISTANCE_METHODS: dict[str, str | None] = {"intercept": None, "r0-cpe1": "R0-CPE1", "r0-p(r1,cpe1)": "R0-p(R1,CPE1)",
                                             "r0-p(r1,cpe1)-cpe2": "R0-p(R1,CPE1)-CPE2"}
# What the MADAP table states as its own analysis: kept as a separate analysis, not as parameters.
_MADAP_RESULTS = ("MADAP fitted resistance", "MADAP conductivity")
_COMPONENT_MASS = "Mass"


def cell_constant(user: UserMetadata, source: str | None = None) -> ScalarQuantity | None:
    """The user's cell constant K = l/A (``--cell-constant '4.72 1/cm'`` or ``'472 1/m'``), or None."""
    from battkg.units import convert, split_quantity

    text = user.fields.get("cell_constant")
    if text is None:
        return None
    value, unit = split_quantity(text, field="cell_constant", source=source)
    if unit in (None, "", "dimensionless"):
        raise MetadataError("cell_constant", f"give the unit, e.g. '{text} 1/cm' or '{text} 1/m' (got {text!r})",
                            source=source)
    try:
        per_cm = float(convert(value, unit, "1/centimeter"))
    except MetadataError:
        raise MetadataError("cell_constant", f"{text!r} is not an inverse length (use 1/cm or 1/m)",
                            source=source) from None
    if not np.isfinite(per_cm) or per_cm <= 0:
        raise MetadataError("cell_constant", f"must be positive (got {text!r})", source=source)
    return ScalarQuantity("CellConstant", float(value), unit, "cell constant")


def _block_quantity(block: Block, quantity: str, label: str | None = None) -> ScalarQuantity | None:
    return next((q for q in block.quantities if q.quantity == quantity and (label is None or q.label == label)), None)


def _file_formulation(parsed: ParsedFile, source: str | None) -> Any:
    """The formulation a file states by component masses (MADAP ``<component> [g]``), or None."""
    from battkg.formulation import parse_formulation

    masses = [(q.label, q.value) for q in parsed.blocks[0].quantities if q.quantity == _COMPONENT_MASS and q.label]
    total = sum(m for _, m in masses)
    if not masses or total <= 0:
        return None
    salts = {"lipf6", "litfsi", "lifsi", "libf4"}
    solvent_mass = sum(m for name, m in masses if name.lower() not in salts)
    entries = []
    for name, mass in masses:
        if mass <= 0:
            continue
        if name.lower() in salts:
            # mol of salt per kg of solvent needs the salt's molar mass: resolve it through the formulation model.
            from battkg.formulation import resolve_substance

            salt = resolve_substance(name=name, field_name=f"{name} [g]", source=source)
            entries.append({"name": name, "amount": mass / salt.molar_mass / solvent_mass * 1000.0,
                            "kind": "molality"})
        else:
            entries.append({"name": name, "amount": mass / solvent_mass, "kind": "mass fraction"})
    return parse_formulation(entries, source=source, field_name="component masses in the file")


class EisTechnique(Technique):
    """Impedance spectra → bulk resistance → (with a cell constant) ionic conductivity of the electrolyte."""

    key = "eis"
    activity_types = ("ElectrochemicalImpedanceSpectroscopy",)
    observables = ("IonicConductivity", "ElectricImpedance")
    user_fields: dict[str, tuple[str, ...] | None] = {
        "formulation": None, "cell_constant": None, "resistance_method": tuple(RESISTANCE_METHODS),
    }

    def check(self, parsed: ParsedFile, user: UserMetadata, path: Path) -> None:
        where = str(path)
        for block in parsed.blocks:
            names = {a.name for a in block.arrays}
            missing = [n for n in SPECTRUM_ARRAYS if n not in names]
            if missing:
                raise MetadataError("arrays", f"spectrum {block.name!r} lacks {', '.join(missing)}", source=where)
        experiments = sorted({str(b.metadata["experiment_id"]) for b in parsed.blocks if "experiment_id" in b.metadata})
        if len(experiments) > 1:
            raise MetadataError("experiment", f"the table holds {len(experiments)} experiments (electrolytes): "
                                f"{', '.join(experiments)}; ingest one per record with --experiment ID", source=where)
        given = cell_constant(user, where)
        if "formulation" in user.fields:
            from battkg.formulation import formulation_from_field

            formulation_from_field(user.fields["formulation"], source=where)
        has_user_temperature = "temperature" in (user.conditions or {})
        for block in parsed.blocks:
            if (given or _block_quantity(block, "CellConstant", "cell constant")) and not (
                    has_user_temperature or _block_quantity(block, "ThermodynamicTemperature")):
                raise MetadataError("conditions.temperature", "an ionic conductivity needs the measurement "
                                    "temperature; the file gives none: add --condition temperature='25 degC'",
                                    source=where)

    def derive(self, parsed: ParsedFile, user: UserMetadata) -> Derived:
        from battkg import __version__
        from battkg.ingest.eis.analysis import bulk_resistance, fit_equivalent_circuit, ionic_conductivity
        from battkg.units import convert

        derived = Derived()
        several = len(parsed.blocks) > 1
        derived.activity["numberOfSpectra"] = len(parsed.blocks)
        formulation = None
        if "formulation" in user.fields:
            from battkg.formulation import formulation_from_field

            formulation = formulation_from_field(user.fields["formulation"])
        else:
            formulation = _file_formulation(parsed, None)
            if formulation is not None:
                derived.warnings.append(f"formulation from the component masses in the file: {formulation.label}")
        if formulation is not None:
            derived.sample = {"hasFormulation": formulation.iri}
            derived.nodes.extend(formulation.jsonld_nodes())
        self._temperature_conflicts(parsed, user, derived)

        given = cell_constant(user)
        method_key = RESISTANCE_METHODS[user.fields.get("resistance_method", "intercept")]
        outputs: list[ScalarQuantity] = []
        descriptions: list[str] = []
        for block in parsed.blocks:
            name = block.name if several else None
            f, re_z, minus_im = (np.asarray(block.array(n).values, dtype=float) for n in SPECTRUM_ARRAYS)
            try:
                estimate = (bulk_resistance(f, re_z, minus_im) if method_key is None
                            else fit_equivalent_circuit(f, re_z, minus_im, method_key))
            except ValueError as exc:
                raise MetadataError("resistance_method", f"spectrum {block.name!r}: {exc}") from None
            if estimate.extrapolated:
                derived.warnings.append(f"spectrum {block.name!r}: no high-frequency zero crossing of −Im(Z); the bulk "
                                        "resistance is an upper bound (try --resistance-method R0-CPE1)")
            outputs.append(ScalarQuantity("ElectricResistance", estimate.value, "ohm", "bulk", block=name))
            if estimate.description not in descriptions:
                descriptions.append(estimate.description)
            from_file = _block_quantity(block, "CellConstant", "cell constant")
            constant = from_file or given
            if from_file and given and abs(float(convert(given.value, given.unit, from_file.unit)) - from_file.value) > \
                    1e-6 * abs(from_file.value):
                derived.warnings.append(f"conflict: cell constant given as {given.value} {given.unit}, but the file says "
                                        f"{from_file.value} {from_file.unit} for {block.name!r}; the file's value is kept")
            if constant is not None:
                sigma = ionic_conductivity(estimate.value, constant.value, constant.unit)
                outputs.append(ScalarQuantity("IonicConductivity", sigma, "S/m", "from bulk resistance", block=name))
        parameters = [given] if given is not None else []
        conductivity = any(q.quantity == "IonicConductivity" for q in outputs)
        software = ("scipy", _version("scipy")) if method_key else ("battkg", __version__)
        derived.analyses.append(Analysis(
            key="ionic-conductivity" if conductivity else "bulk-resistance",
            label="bulk resistance and ionic conductivity" if conductivity else "bulk resistance",
            method=("; ".join(descriptions) + (".  σ = K / R_b with the cell constant K (S/m)" if conductivity else "")),
            outputs=outputs, parameters=parameters, software=software[0], software_version=software[1],
            extra={"resistanceMethod": method_key and f"circuit_fit:{method_key}" or "hf_intercept"},
        ))
        madap = [ScalarQuantity(q.quantity, q.value, q.unit, q.label, block=b.name if several else None)
                 for b in parsed.blocks for q in b.quantities if q.label in _MADAP_RESULTS]
        if madap:
            derived.analyses.append(Analysis(
                key="madap", label="MADAP analysis as stated in the file",
                method="MADAP (version not stated in the file): R from MADAP's equivalent-circuit fit, σ = cell constant / R (values as the MADAP table gives "
                       "them, for comparison with battkg's own estimate)", outputs=madap))
        return derived

    def for_record(self, parsed: ParsedFile, user: UserMetadata) -> ParsedFile:
        """MADAP's own results and the component masses leave the parameters (analysis / formulation hold them)."""
        if not any(q.label in _MADAP_RESULTS or q.quantity == _COMPONENT_MASS for b in parsed.blocks
                   for q in b.quantities):
            return parsed
        blocks = [replace(b, quantities=[q for q in b.quantities
                                         if q.label not in _MADAP_RESULTS and q.quantity != _COMPONENT_MASS])
                  for b in parsed.blocks]
        return replace(parsed, blocks=blocks)

    @staticmethod
    def _temperature_conflicts(parsed: ParsedFile, user: UserMetadata, derived: Derived) -> None:
        """The file's temperature wins over the user's; a disagreement is reported and the user's is dropped."""
        from battkg.units import convert, split_quantity

        stated = [q for b in parsed.blocks for q in b.quantities if q.quantity == "ThermodynamicTemperature"]
        given = (user.conditions or {}).get("temperature")
        if not stated or given is None:
            return
        value, unit = split_quantity(given, field="conditions.temperature")
        kelvin = float(convert(value, unit, "kelvin"))
        if any(abs(float(convert(q.value, q.unit, "kelvin")) - kelvin) > 0.01 for q in stated):
            derived.warnings.append(f"conflict: temperature given as {given}, but the file states "
                                    f"{', '.join(sorted({f'{q.value:g} {q.unit}' for q in stated}))}; "
                                    "the file's values are kept")
        # The pipeline builds the characterisation environment from user.conditions after derive().
        user.conditions = {k: v for k, v in user.conditions.items() if k != "temperature"}

    def title(self, parsed: ParsedFile, user: UserMetadata, path: Path) -> str:
        technique = parsed.metadata.get("technique")
        sample = user.sample or parsed.metadata.get("sample_name")
        return user.title or f"EIS{' (' + str(technique) + ')' if technique else ''} of {sample} ({path.name})"


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


TECHNIQUE = EisTechnique()
