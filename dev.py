#!/usr/bin/env python3
"""Set up and run Seva CRM with nothing but Python 3.11+.

    python3 dev.py run     # create .venv, install, migrate SQLite, load the demo, serve :8000
    python3 dev.py test    # create .venv, install, run the whole test suite (extra args go to pytest)
"""

from __future__ import annotations

import hashlib
import os
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


def main() -> int:
    command, *rest = sys.argv[1:] or ["help"]
    if command not in ("run", "test"):
        print(__doc__)
        return 2
    ensure_environment()
    seva = str(BIN / "seva")
    if command == "run":
        for step in (["migrate"], ["demo"]):
            subprocess.run([seva, *step], check=True, cwd=ROOT)
        print("GraphiQL: http://127.0.0.1:8000/graphql", flush=True)
        return subprocess.run([seva, "serve", *rest], cwd=ROOT).returncode
    return subprocess.run([str(BIN / "python"), "-m", "pytest", *rest], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main())
