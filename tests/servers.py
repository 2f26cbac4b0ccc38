"""Real SPARQL servers for the tests: ``oxigraph serve`` and Virtuoso, on 127.0.0.1 and a free port."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_program(name: str) -> str | None:
    """A program in this interpreter's bin directory (pip-installed CLIs) or on $PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() else shutil.which(name)


class Server:
    """A server process that is stopped (and its output kept for messages) on :meth:`stop`."""

    def __init__(self, args: list[str], probe_url: str, cwd: Path | None = None, timeout: float = 30.0) -> None:
        self.log = (cwd or Path("/tmp")) / f"server-{time.time_ns()}.log"
        self._log = open(self.log, "wb")
        self.process = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT, cwd=cwd,
                                        stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{args[0]} exited with {self.process.returncode}: {self.output()}")
            try:
                if httpx.get(probe_url, params={"query": "ASK {}"}, timeout=2).status_code < 500:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{args[0]} did not answer on {probe_url} within {timeout:.0f} s: {self.output()}")
            time.sleep(0.1)

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log.read_text(errors="replace")[-2000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def start_oxigraph(workdir: Path, location: Path | None = None) -> tuple[Server, str]:
    """``oxigraph serve`` (in memory, or on disk at ``location``); returns the server and its battkg location URL.

    :raises FileNotFoundError: when the ``oxigraph`` program (PyPI package ``oxigraph``) is missing.
    """
    program = find_program("oxigraph")
    if program is None:
        raise FileNotFoundError("the 'oxigraph' server program is not installed (PyPI package oxigraph, "
                                "part of battkg's test extra)")
    port = free_port()
    disk = ["--location", str(location)] if location is not None else []
    server = Server([program, "serve", "--bind", f"127.0.0.1:{port}", *disk], f"http://127.0.0.1:{port}/query", workdir)
    return server, f"sparql+http://127.0.0.1:{port}/"


def clear(location: str) -> None:
    """Empty the server behind a ``sparql+http://`` location (between tests sharing one server)."""
    base = location.removeprefix("sparql+")
    httpx.post(base.split("?")[0] + "update", content=b"DROP ALL",
               headers={"Content-Type": "application/sparql-update"}, timeout=30).raise_for_status()


VIRTUOSO_INI = """[Database]
DatabaseFile = {dir}/virtuoso.db
ErrorLogFile = {dir}/virtuoso.log
TransactionFile = {dir}/virtuoso.trx
xa_persistent_file = {dir}/virtuoso.pxa
[TempDatabase]
DatabaseFile = {dir}/virtuoso-temp.db
TransactionFile = {dir}/virtuoso-temp.trx
[Parameters]
ServerPort = {sql_port}
NumberOfBuffers = 20000
MaxDirtyBuffers = 15000
DirsAllowed = {dir}
[HTTPServer]
ServerPort = {http_port}
ServerRoot = {dir}
MaxClientConnections = 4
ServerThreads = 4
[SPARQL]
ResultSetMaxRows = 100000
DefaultGraph =
"""


def start_virtuoso(workdir: Path) -> tuple[Server, int]:
    """Virtuoso Open Source (Debian package virtuoso-opensource-7-bin) in ``workdir``; returns (server, http port).

    :raises FileNotFoundError: when ``virtuoso-t`` is not installed.
    """
    program = find_program("virtuoso-t")
    if program is None:
        raise FileNotFoundError("virtuoso-t is not installed (Debian package virtuoso-opensource-7-bin)")
    http_port, sql_port = free_port(), free_port()
    (workdir / "virtuoso.ini").write_text(VIRTUOSO_INI.format(dir=workdir, sql_port=sql_port, http_port=http_port))
    server = Server([program, "+foreground", "+configfile", str(workdir / "virtuoso.ini")],
                    f"http://127.0.0.1:{http_port}/sparql", workdir, timeout=90)
    return server, http_port
