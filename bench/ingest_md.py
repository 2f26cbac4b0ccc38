"""Benchmark: ingest of one MD trajectory (default 10^4 atoms × 1 000 frames), without and with --transport.

Two trajectories of the same random walks (an electrolyte-like mix: 5 % Li, 5 % P, 30 % F, 60 %
solvent atoms, 60 Å box, 1 ps between frames) are written: a GROMACS XTC (+ .gro topology, with
MDAnalysis' XTC writer) and a LAMMPS text dump (``id type x y z``, units real; the LAMMPS data file
names the types).  Each variant runs in its own subprocess so peak memory (ru_maxrss) is that
variant's alone:

* baseline: read every frame and nothing else (XTC: MDAnalysis' libmdaxdr; dump: Python line
  iteration of the text, the floor of any pure-Python reader);
* ingest: ``ingest_file`` without transport (frames streamed, no coordinates kept);
* ingest --transport Li=+1 P=-1: the Li and P atoms' coordinates only are kept (float32) for the MSD.

Usage: ``flock /tmp/bench.lock .venv/bin/python bench/ingest_md.py [--atoms N] [--frames F]``; writes
``bench/results/ingest_md.txt`` (the previous figures stay as history lines at its end).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._common import machine  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "ingest_md.txt"
FRACTIONS = (("LI", 0.05), ("P", 0.05), ("F", 0.30), ("C", 0.60))


def generate(directory: Path, n_atoms: int, n_frames: int, seed: int = 1) -> tuple[Path, Path]:
    """Write ``traj.xtc`` and ``conf.gro``: random walks in a 60 Å box, 1 ps between frames."""
    import MDAnalysis as mda

    names = np.concatenate([[name] * int(round(frac * n_atoms)) for name, frac in FRACTIONS])[:n_atoms]
    names = np.pad(names, (0, n_atoms - names.size), constant_values="C")
    universe = mda.Universe.empty(n_atoms, n_residues=n_atoms, atom_resindex=np.arange(n_atoms), trajectory=True)
    universe.add_TopologyAttr("name", names)
    universe.add_TopologyAttr("resname", names)
    universe.dimensions = [60.0, 60.0, 60.0, 90.0, 90.0, 90.0]
    rng = np.random.default_rng(seed)
    position = rng.uniform(0, 60.0, (n_atoms, 3)).astype(np.float32)
    gro, xtc = directory / "conf.gro", directory / "traj.xtc"
    universe.atoms.positions = position
    universe.atoms.write(str(gro))
    with mda.Writer(str(xtc), n_atoms) as writer:
        for k in range(n_frames):
            if k:
                position += rng.normal(scale=0.3, size=position.shape).astype(np.float32)  # D = 0.015 Å²/ps
            universe.atoms.positions = np.mod(position, 60.0)
            universe.trajectory.ts.time = float(k)
            universe.trajectory.ts.data["step"] = k * 1000
            writer.write(universe.atoms)
    return xtc, gro


def generate_dump(directory: Path, n_atoms: int, n_frames: int, seed: int = 1) -> tuple[Path, Path]:
    """Write ``traj.lammpstrj`` (units real, ``id type x y z``) and ``system.data`` with the same walks."""
    types = np.concatenate([[k + 1] * int(round(frac * n_atoms)) for k, (_, frac) in enumerate(FRACTIONS)])[:n_atoms]
    types = np.pad(types, (0, n_atoms - types.size), constant_values=len(FRACTIONS))
    masses = {"LI": 6.941, "P": 30.974, "F": 18.998, "C": 12.011}
    rng = np.random.default_rng(seed)
    position = rng.uniform(0, 60.0, (n_atoms, 3))
    ids = np.arange(1, n_atoms + 1)
    data, dump = directory / "system.data", directory / "traj.lammpstrj"
    with data.open("w") as fh:
        fh.write(f"LAMMPS data file (bench)\n\n{n_atoms} atoms\n{len(FRACTIONS)} atom types\n\n"
                 "0 60 xlo xhi\n0 60 ylo yhi\n0 60 zlo zhi\n\nMasses\n\n")
        fh.writelines(f"{k + 1} {masses[name]} # {name}\n" for k, (name, _) in enumerate(FRACTIONS))
        fh.write("\nAtoms # atomic\n\n")
        fh.writelines(f"{i} {t} {x:.4f} {y:.4f} {z:.4f}\n" for i, t, (x, y, z) in zip(ids, types, position))
    row = "%d %d %.4f %.4f %.4f\n" * n_atoms
    with dump.open("w") as fh:
        for k in range(n_frames):
            if k:
                position += rng.normal(scale=0.3, size=position.shape)
            wrapped = np.mod(position, 60.0)
            fh.write(f"ITEM: UNITS\nreal\nITEM: TIME\n{k * 1000.0}\nITEM: TIMESTEP\n{k * 1000}\n"
                     f"ITEM: NUMBER OF ATOMS\n{n_atoms}\nITEM: BOX BOUNDS pp pp pp\n" + "0 60\n" * 3
                     + "ITEM: ATOMS id type x y z\n")
            table = np.column_stack([ids, types, wrapped]).ravel().tolist()
            fh.write(row % tuple(table))
    return dump, data


def _child(mode: str, xtc: str, gro: str, store: str) -> None:
    """One measured variant (runs in a subprocess); prints JSON with seconds and peak RSS."""
    start = time.perf_counter()
    if mode == "baseline" and xtc.endswith(".xtc"):
        from MDAnalysis.lib.formats.libmdaxdr import XTCFile

        with XTCFile(xtc) as handle:
            n = sum(1 for _ in handle)
        extra: dict[str, object] = {"frames": n}
    elif mode == "baseline":
        with open(xtc) as handle:
            n = sum(1 for _ in handle)
        extra = {"lines": n}
    else:
        from battkg.ingest.pipeline import ingest_file
        from battkg.ingest.technique import UserMetadata
        from battkg.readers import ScalarQuantity
        from battkg.store import open_repository

        options: dict[str, object] = {"topology": gro}
        if mode == "transport":
            options["transport"] = {"LI": 1.0, "P": -1.0}  # the .gro names and the data file's Masses comments
        user = UserMetadata(sample="bench electrolyte",
                            quantities=[ScalarQuantity("ThermodynamicTemperature", 300.0, "kelvin", "thermostat")])
        with open_repository(Path(store)) as repo:
            result = ingest_file(repo, "md", Path(xtc), user, reader_options=options)
        extra = {"timings": {k: round(v, 3) for k, v in result.timings.items()}, "triples": result.n_triples}
    seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"mode": mode, "seconds": seconds, "peak_mib": peak_mib, **extra}))


def _run_variants(trajectory: Path, topology: Path, tmp: str) -> dict[str, dict]:
    runs = {}
    for mode in ("baseline", "ingest", "transport"):
        out = subprocess.run([sys.executable, __file__, "--child", mode, str(trajectory), str(topology),
                              str(Path(tmp) / f"store-{trajectory.suffix}-{mode}")], capture_output=True, text=True,
                             check=True)
        runs[mode] = json.loads(out.stdout.strip().splitlines()[-1])
    return runs


def _table(title: str, runs: dict[str, dict], baseline_label: str) -> list[str]:
    base = runs["baseline"]
    lines = [title, f"{'variant':<40}{'seconds':>9}{'× baseline':>12}{'peak RSS MiB':>14}"]
    for mode, label in (("baseline", baseline_label), ("ingest", "battkg ingest md"),
                        ("transport", "battkg ingest md --transport LI P")):
        r = runs[mode]
        lines.append(f"{label:<40}{r['seconds']:>9.2f}{r['seconds'] / base['seconds']:>12.1f}{r['peak_mib']:>14.0f}")
    lines += [f"  stage timings without transport (s): {runs['ingest']['timings']}",
              f"  stage timings with transport (s):    {runs['transport']['timings']}"]
    return lines


def _history(previous: str) -> list[str]:
    """The earlier results file as history lines: its own history, plus one line for the run it held
    (when, and each variant's seconds, ratio and peak RSS)."""
    lines = previous.splitlines()
    history = [line for line in lines if line.startswith("history:")]
    when = next((line.split("load at start:", 1)[1].split(" up ")[0].strip() for line in lines
                 if line.startswith("load at start:")), "")
    figures: list[str] = []
    section = ""
    for line in lines:
        if line.startswith(("GROMACS XTC", "LAMMPS dump")):
            section = "XTC" if line.startswith("GROMACS") else "dump"
        parts = line.rsplit(None, 3)
        if section and len(parts) == 4 and parts[1].replace(".", "", 1).isdigit() and not line.startswith("variant"):
            name = parts[0].replace("battkg ingest md", "ingest").split(":")[0].strip()
            figures.append(f"{section} {name} {parts[1]} s ({parts[2]}×, {parts[3]} MiB)")
    if figures:
        history.insert(0, f"history: run at {when or 'an earlier date'}: " + "; ".join(figures))
    return history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--atoms", type=int, default=10_000)
    parser.add_argument("--frames", type=int, default=1_000)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        xtc, gro = generate(Path(tmp), args.atoms, args.frames)
        dump, data = generate_dump(Path(tmp), args.atoms, args.frames)
        t_gen = time.perf_counter() - t0
        xtc_runs = _run_variants(xtc, gro, tmp)
        dump_runs = _run_variants(dump, data, tmp)
        xtc_mib, dump_mib = xtc.stat().st_size / 2**20, dump.stat().st_size / 2**20
    n_sel = sum(int(round(frac * args.atoms)) for name, frac in FRACTIONS if name in ("LI", "P"))
    kept_mib = n_sel * args.frames * 3 * 4 / 2**20
    previous = _history(RESULTS.read_text() if RESULTS.exists() else "")
    lines = [
        f"MD ingest benchmark: {args.atoms} atoms × {args.frames} frames (inputs generated in {t_gen:.1f} s)",
        machine(),
        f"load at start: {time.strftime('%Y-%m-%d')} {load}",
        "",
        *_table(f"GROMACS XTC {xtc_mib:.1f} MiB + .gro", xtc_runs, "baseline: libmdaxdr stream, no ingest"),
        "",
        *_table(f"LAMMPS dump (text) {dump_mib:.1f} MiB + data file", dump_runs, "baseline: Python line iteration"),
        "",
        f"transport keeps {n_sel} of {args.atoms} atoms' coordinates in memory: {kept_mib:.0f} MiB as float32 "
        "(MSD unwrapped per species and FFT'd in batches of 256 atoms, in float64); without transport no "
        "coordinates are kept, and the dump reader holds one frame at a time.",
        "Peak RSS includes the Python interpreter, numpy, MDAnalysis, pyoxigraph and pySHACL imports.",
        *previous,
    ]
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
