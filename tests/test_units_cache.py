"""pint's definition cache behind ``battkg.units.registry``: shared between processes, read rather than
rebuilt, and a damaged entry is rebuilt instead of failing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# What a fresh process answers: whether it used a cache, and a few conversions.
PROBE = ("from battkg import units; r = units.registry(); "
         "print(r._diskcache is not None, units.convert(1.0, 'mA*h', 'C'), units.convert(25.0, 'degC', 'K'), "
         "units.same_unit('A*h', 'ampere_hour'), units.same_unit('count', 'dimensionless'), units.parse_unit('mAh'))")


def probe(cache: str) -> list[str]:
    env = {**os.environ, "BATTKG_UNIT_CACHE": cache}
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_unit_cache_is_written_once_then_read_and_rebuilt_when_damaged(tmp_path: Path) -> None:
    folder = tmp_path / "pint"
    uncached = probe("")  # empty: no cache
    assert uncached[0] == "False" and not folder.exists()
    first = probe(str(folder))
    entries = sorted(folder.glob("*.pickle"))
    assert first[0] == "True" and entries and first[1:] == uncached[1:]
    stamps = [p.stat().st_mtime_ns for p in entries]
    assert probe(str(folder))[1:] == uncached[1:]
    assert [p.stat().st_mtime_ns for p in entries] == stamps  # read, not written again
    for entry in entries:  # cut short, as by a crash or a full disk
        entry.write_bytes(entry.read_bytes()[:100])
    assert probe(str(folder))[1:] == uncached[1:]
    assert all(p.stat().st_size > 100 for p in entries)  # rebuilt
    assert not list(folder.glob(".*.part"))  # entries are written beside and renamed into place
