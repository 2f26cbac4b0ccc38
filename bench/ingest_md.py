"""Benchmark: ingest of one MD trajectory (default 10^4 atoms × 1 000 frames), without and with --transport.

The trajectory is a GROMACS XTC (written with MDAnalysis' XTC writer, random walks of an
electrolyte-like mix: 5 % Li, 5 % P, 30 % F, 60 % solvent atoms) plus a .gro topology.  Each
variant runs in its own subprocess so peak memory (ru_maxrss) is that variant's alone:

* baseline: stream every frame with MDAnalysis' libmdaxdr (what reading the file costs);
* ingest: ``ingest_file`` without transport (frames streamed, no coordinates kept);
* ingest --transport Li=+1 P=-1: coordinates of the Li and P atoms only are kept for the MSD.

Usage: ``.venv/bin/python bench/ingest_md.py [--atoms N] [--frames F]``; writes
``bench/results/ingest_md.txt``.
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


def _child(mode: str, xtc: str, gro: str, store: str) -> None:
    """One measured variant (runs in a subprocess); prints JSON with seconds and peak RSS."""
    start = time.perf_counter()
    if mode == "baseline":
        from MDAnalysis.lib.formats.libmdaxdr import XTCFile

        with XTCFile(xtc) as handle:
            n = sum(1 for _ in handle)
        extra: dict[str, object] = {"frames": n}
    else:
        from battkg.ingest.pipeline import ingest_file
        from battkg.ingest.technique import UserMetadata
        from battkg.readers import ScalarQuantity
        from battkg.store import open_repository

        options: dict[str, object] = {"topology": gro}
        if mode == "transport":
            options["transport"] = {"LI": 1.0, "P": -1.0}
        user = UserMetadata(sample="bench electrolyte",
                            quantities=[ScalarQuantity("ThermodynamicTemperature", 300.0, "kelvin", "thermostat")])
        with open_repository(Path(store)) as repo:
            result = ingest_file(repo, "md", Path(xtc), user, reader_options=options)
        extra = {"timings": {k: round(v, 3) for k, v in result.timings.items()}, "triples": result.n_triples}
    seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"mode": mode, "seconds": seconds, "peak_mib": peak_mib, **extra}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--atoms", type=int, default=10_000)
    parser.add_argument("--frames", type=int, default=1_000)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        xtc, gro = generate(Path(tmp), args.atoms, args.frames)
        t_gen = time.perf_counter() - t0
        runs = {}
        for mode in ("baseline", "ingest", "transport"):
            out = subprocess.run([sys.executable, __file__, "--child", mode, str(xtc), str(gro),
                                  str(Path(tmp) / f"store-{mode}")], capture_output=True, text=True, check=True)
            runs[mode] = json.loads(out.stdout.strip().splitlines()[-1])
        size_mib = xtc.stat().st_size / 2**20
    n_sel = sum(int(round(frac * args.atoms)) for name, frac in FRACTIONS if name in ("LI", "P"))
    kept_mib = n_sel * args.frames * 3 * 8 / 2**20
    base = runs["baseline"]
    lines = [
        f"MD ingest benchmark: {args.atoms} atoms × {args.frames} frames, XTC {size_mib:.1f} MiB "
        f"(generated in {t_gen:.1f} s)",
        machine(),
        f"{'variant':<34}{'seconds':>9}{'× baseline':>12}{'peak RSS MiB':>14}",
    ]
    for mode, label in (("baseline", "baseline: libmdaxdr stream, no ingest"), ("ingest", "battkg ingest md"),
                        ("transport", "battkg ingest md --transport LI P")):
        r = runs[mode]
        lines.append(f"{label:<34}{r['seconds']:>9.2f}{r['seconds'] / base['seconds']:>12.1f}{r['peak_mib']:>14.0f}")
    lines += [
        f"stage timings without transport (s): {runs['ingest']['timings']}",
        f"stage timings with transport (s):    {runs['transport']['timings']}",
        f"transport keeps {n_sel} of {args.atoms} atoms' coordinates in memory: {kept_mib:.0f} MiB as float64 "
        "(plus unwrapping and FFT work arrays); without transport no coordinates are kept.",
        "Peak RSS includes the Python interpreter, numpy, MDAnalysis, pyoxigraph and pySHACL imports.",
    ]
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
