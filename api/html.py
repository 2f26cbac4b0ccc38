"""The record page for people: metadata, provenance and the main curve as inline SVG.

The plot is drawn here as an SVG polyline (no matplotlib: a page must render in
milliseconds and the server should not import a plotting stack).  Long curves
are reduced to min/max pairs per pixel column, which keeps every peak visible.
"""

from __future__ import annotations

from html import escape
from typing import Any

import numpy as np

from battkg.export import ArrayInfo, RecordInfo
from battkg.store import Repository

# (x quantity, y quantity, y sign) per kind of main curve, first match wins.
MAIN_CURVES: tuple[tuple[str, str, float], ...] = (
    ("TwoTheta", "DiffractionIntensity", 1.0),  # diffractogram
    ("RamanShift", "Intensity", 1.0),
    ("Wavenumber", "Absorbance", 1.0),
    ("Wavenumber", "Intensity", 1.0),
    ("BindingEnergy", "Intensity", 1.0),
    ("Capacity", "CellVoltage", 1.0),  # voltage–capacity
    ("ChargingCapacity", "CellVoltage", 1.0),
    ("DischargingCapacity", "CellVoltage", 1.0),
    ("ElectricResistance", "NegativeImaginaryImpedance", 1.0),  # Nyquist
    ("ElectricResistance", "ElectricReactance", -1.0),
)
WIDTH, HEIGHT, PAD = 640, 320, 48


def choose_curve(arrays: list[ArrayInfo]) -> tuple[ArrayInfo, ArrayInfo, float] | None:
    """The (x, y, sign) arrays of the record's main curve, or None."""
    one_d = [a for a in arrays if "," not in a.shape]
    for x_kind, y_kind, sign in MAIN_CURVES:
        for x in one_d:
            if x.quantity != x_kind:
                continue
            block = x.name.rsplit(".", 1)[0]
            for y in one_d:
                if y.quantity == y_kind and y.name.rsplit(".", 1)[0] == block and y.shape == x.shape:
                    return x, y, sign
    if len(one_d) >= 2 and one_d[0].shape == one_d[1].shape:
        return one_d[0], one_d[1], 1.0
    return None


def _reduce(x: np.ndarray, y: np.ndarray, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """At most 2 points per pixel column (min and max), in x order."""
    if x.size <= 2 * columns:
        return x, y
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    edges = np.linspace(0, x.size, columns + 1).astype(int)
    xs, ys = [], []
    for lo, hi in zip(edges[:-1], edges[1:]):
        if hi <= lo:
            continue
        seg = y[lo:hi]
        i, j = sorted((int(np.argmin(seg)), int(np.argmax(seg))))
        xs += [x[lo + i], x[lo + j]]
        ys += [seg[i], seg[j]]
    return np.asarray(xs), np.asarray(ys)


def svg_plot(x: np.ndarray, y: np.ndarray, x_label: str, y_label: str) -> str:
    """An inline SVG line plot with axes, tick labels and axis titles."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = _reduce(x[keep], y[keep], WIDTH - 2 * PAD)
    if x.size < 2:
        return "<p>(no finite data to plot)</p>"
    x0, x1 = float(x.min()), float(x.max())
    y0, y1 = float(y.min()), float(y.max())
    x1 = x1 if x1 > x0 else x0 + 1
    y1 = y1 if y1 > y0 else y0 + 1
    px = PAD + (x - x0) / (x1 - x0) * (WIDTH - 2 * PAD)
    py = HEIGHT - PAD - (y - y0) / (y1 - y0) * (HEIGHT - 2 * PAD)
    points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px, py))
    ticks = []
    for k in range(5):
        fx = x0 + k * (x1 - x0) / 4
        fy = y0 + k * (y1 - y0) / 4
        tx = PAD + k * (WIDTH - 2 * PAD) / 4
        ty = HEIGHT - PAD - k * (HEIGHT - 2 * PAD) / 4
        ticks.append(f'<text x="{tx:.0f}" y="{HEIGHT - PAD + 16}" text-anchor="middle">{fx:.4g}</text>')
        ticks.append(f'<text x="{PAD - 4}" y="{ty + 4:.0f}" text-anchor="end">{fy:.4g}</text>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="{escape(y_label)} against {escape(x_label)}" font-size="11" font-family="sans-serif">'
        f'<rect x="{PAD}" y="{PAD}" width="{WIDTH - 2 * PAD}" height="{HEIGHT - 2 * PAD}" fill="none" stroke="#888"/>'
        f'<polyline fill="none" stroke="#1f5fa8" stroke-width="1" points="{points}"/>'
        + "".join(ticks)
        + f'<text x="{WIDTH / 2:.0f}" y="{HEIGHT - 8}" text-anchor="middle">{escape(x_label)}</text>'
        f'<text x="12" y="{HEIGHT / 2:.0f}" text-anchor="middle" transform="rotate(-90 12 {HEIGHT / 2:.0f})">'
        f'{escape(y_label)}</text></svg>'
    )


def _row(name: str, value: Any) -> str:
    if value in (None, "", []):
        return ""
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    text = escape(str(value))
    if isinstance(value, str) and value.startswith(("https://", "http://")):
        text = f'<a href="{text}">{text}</a>'
    return f"<tr><th>{escape(name)}</th><td>{text}</td></tr>"


def record_page(repo: Repository, info: RecordInfo) -> str:
    """The HTML page of one record (everything escaped; no scripts)."""
    from battkg.api.records import read_record_array

    curve = choose_curve(info.arrays)
    plot = "<p>(no curve to plot)</p>"
    if curve is not None:
        x_info, y_info, sign = curve
        x = read_record_array(repo, info, x_info)
        y = read_record_array(repo, info, y_info) * sign
        y_name = ("−" if sign < 0 else "") + y_info.quantity
        plot = svg_plot(x, y, f"{x_info.quantity} [{x_info.unit}]", f"{y_name} [{y_info.unit}]")
    metadata = "".join([
        _row("Record", info.iri), _row("Technique", [info.technique, *info.technique_labels]),
        _row("Status", info.status), _row("Access", info.access), _row("Rating", info.rating),
        _row("Sample", info.sample), _row("Material", info.material), _row("Material class", info.material_class),
        _row("Operator", info.operator_name or info.operator), _row("Instrument", info.instrument),
        _row("Observables", info.observable_labels), _row("Created", info.created),
        _row("Revision of", info.revision_of),
    ])
    parameters = "".join(_row(kind, f"{value} {unit}") for kind, value, unit in info.parameters)
    files = "".join(
        f"<tr><td>{escape(f.name)}</td><td>{escape(f.media_type)}</td><td>{f.size}</td><td><code>{f.sha256}</code></td></tr>"
        for f in (info.raw, *info.companions.values(), info.arrays_file) if f is not None)
    arrays = "".join(
        f'<tr><td><a href="/records/{info.id}/arrays/{escape(a.name)}">{escape(a.name)}</a></td>'
        f"<td>{escape(a.quantity)}</td><td>{escape(a.unit)}</td><td>{escape(a.shape)}</td></tr>"
        for a in info.arrays)
    events = "".join(f"<li>{escape(t)}: {escape(s)} — {escape(r)}</li>" for t, s, r in info.status_events)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(info.title)}</title>
<style>body{{font-family:sans-serif;max-width:60rem;margin:2rem auto}}th{{text-align:left;padding-right:1rem}}
td,th{{vertical-align:top}}code{{font-size:80%}}</style></head><body>
<h1>{escape(info.title)}</h1>
{plot}
<h2>Metadata</h2><table>{metadata}</table>
<h2>Measurement parameters</h2><table>{parameters or '<tr><td>none</td></tr>'}</table>
<h2>Provenance</h2>
<p>Ingested by battkg from the raw file below; arrays derived from it into HDF5.</p>
<table><tr><th>file</th><th>media type</th><th>bytes</th><th>SHA-256</th></tr>{files}</table>
<p><a href="/records/{info.id}/raw">raw file</a> · <a href="/records/{info.id}?format=jsonld">JSON-LD</a> ·
<a href="/records/{info.id}?format=turtle">Turtle</a> · <a href="/records/{info.id}/export?format=ro-crate">RO-Crate</a> ·
<a href="/records/{info.id}/export?format=invenio">InvenioRDM JSON</a></p>
<h2>Arrays</h2><table><tr><th>name</th><th>quantity</th><th>unit</th><th>shape</th></tr>{arrays}</table>
<h2>Status history</h2><ul>{events or '<li>no status changes</li>'}</ul>
</body></html>"""
