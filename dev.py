#!/usr/bin/env python3
"""Set up and run Seva CRM with nothing but Python 3.11+.

    python3 dev.py run     # create .venv, install, migrate SQLite, load the demo, serve :8000
    python3 dev.py test    # create .venv, install, run the whole test suite (extra args go to pytest)
    python3 dev.py lint    # the house rules: ruff, and import-linter's contracts (pyproject.toml)
    python3 dev.py seva ARGS...   # the `seva` command line in .venv (the same as .venv/bin/seva ARGS...)
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def ensure_environment() -> None:
    """Create the virtualenv and install the project, again only when pyproject.toml changed."""
    if sys.version_info < (3, 11):
        sys.exit("Seva CRM needs Python 3.11 or newer")
    if not (BIN / "python").exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / ".installed"
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text() != wanted:
        print("installing dependencies ...", flush=True)
        pip = [str(BIN / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, "-e", f"{ROOT}[test]"], check=True)
        stamp.write_text(wanted)
    # A strict editable install (see README, Contributing) leaves seva_crm.egg-info here; with the
    # repository on sys.path its stale entry points would hide the installed ones.
    shutil.rmtree(ROOT / "seva_crm.egg-info", ignore_errors=True)


def package_view() -> Path:
    """A folder where ``seva_crm`` is one tree on disk (symlinks to core/, schema/, plugins/), as
    installed. import-linter walks a package's folder, and in the repository those three live
    beside ``seva_crm/`` (pyproject.toml's package-dir maps them in)."""
    view = VENV / "package-view"
    shutil.rmtree(view, ignore_errors=True)
    (view / "seva_crm").mkdir(parents=True)
    for entry in (ROOT / "seva_crm").iterdir():
        if entry.name != "__pycache__":
            (view / "seva_crm" / entry.name).symlink_to(entry)
    for folder in ("core", "schema", "plugins"):
        (view / "seva_crm" / folder).symlink_to(ROOT / folder)
    return view


def lint() -> int:
    ruff = subprocess.run([str(BIN / "ruff"), "check", "."], cwd=ROOT).returncode
    contracts = subprocess.run([str(BIN / "lint-imports"), "--no-cache", str(ROOT / "pyproject.toml")],
                               cwd=package_view()).returncode
    return ruff or contracts


def serve(args: list[str]) -> int:
    """Run the server in a process group of its own and pass it Ctrl+C (or SIGTERM) once: it
    then shuts down gracefully (a second Ctrl+C from the terminal would make uvicorn cut its
    shutdown short), and this script waits for it to finish."""
    child = subprocess.Popen(args, cwd=ROOT, start_new_session=True)

    def forward(signum, frame) -> None:
        if child.poll() is None:
            child.send_signal(signum)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, forward)
    return child.wait()


def main() -> int:
    command, *rest = sys.argv[1:] or ["help"]
    if command not in ("run", "test", "lint", "seva"):
        print(__doc__)
        return 2
    ensure_environment()
    if command == "lint":
        return lint()
    seva = str(BIN / "seva")
    if command == "seva":
        return subprocess.run([seva, *rest]).returncode
    if command == "run":
        for step in (["migrate"], ["demo"]):
            if subprocess.run([seva, *step], cwd=ROOT).returncode:
                return 1
        port = rest[rest.index("--port") + 1] if "--port" in rest[:-1] else "8000"
        print(f"GraphiQL: http://127.0.0.1:{port}/graphql   (the command line: python3 dev.py seva --help, "
              f"or {os.path.relpath(seva)} --help; stop with Ctrl+C)", flush=True)
        return serve([seva, "serve", *rest])
    return subprocess.run([str(BIN / "python"), "-m", "pytest", *rest], cwd=ROOT).returncode


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl+C while installing, migrating or loading the demo
        print("\ninterrupted", file=sys.stderr)
        sys.exit(130)
