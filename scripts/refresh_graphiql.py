#!/usr/bin/env python3
"""Refresh the GraphiQL assets vendored under schema/static/graphiql/ from the npm registry.

    python3 scripts/refresh_graphiql.py            # the versions pinned below
    python3 scripts/refresh_graphiql.py --check    # only check the files against manifest.json

Needs `npm` (Node.js). Each package is fetched with `npm pack` into a temporary directory (no
install scripts run), and only its browser build and its LICENSE are copied. manifest.json records
each package's version, the registry's integrity string and the sha256 of every copied file;
the app serves only the files the manifest lists. To upgrade, change PACKAGES, run this, open
GraphiQL and run tests/test_graphiql.py (the headless browser test).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "schema" / "static" / "graphiql"

# package -> (version, {file in the package: file name here})
PACKAGES: dict[str, tuple[str, dict[str, str]]] = {
    "react": ("18.3.1", {"umd/react.production.min.js": "react.production.min.js", "LICENSE": "LICENSE.react"}),
    "react-dom": ("18.3.1", {"umd/react-dom.production.min.js": "react-dom.production.min.js", "LICENSE": "LICENSE.react-dom"}),
    "graphiql": ("3.8.3", {"graphiql.min.js": "graphiql.min.js", "graphiql.min.css": "graphiql.min.css",
                           "LICENSE": "LICENSE.graphiql"}),
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def strip_source_map(path: Path) -> None:
    """Drop the trailing sourceMappingURL comment: the maps are not vendored."""
    text = path.read_text(encoding="utf-8")
    for marker in ("\n//# sourceMappingURL=", "\n/*# sourceMappingURL="):
        cut = text.rfind(marker)
        if cut != -1:
            text = text[:cut] + "\n"
    path.write_text(text, encoding="utf-8")


def refresh() -> dict:
    manifest: dict = {"packages": {}}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, (version, files) in PACKAGES.items():
            spec = f"{name}@{version}"
            out = subprocess.run(["npm", "pack", spec, "--json", "--pack-destination", str(work)],
                                 cwd=work, check=True, capture_output=True, text=True).stdout
            info = json.loads(out)[0]
            unpacked = work / name
            unpacked.mkdir()
            with tarfile.open(work / info["filename"]) as tar:
                tar.extractall(unpacked, filter="data")
            entry = {"version": version, "integrity": info["integrity"], "files": {}}
            for source, dest in files.items():
                target = TARGET / dest
                shutil.copyfile(unpacked / "package" / source, target)
                if dest.endswith((".js", ".css")):
                    strip_source_map(target)
                entry["files"][dest] = {"from": source, "sha256": sha256(target)}
            manifest["packages"][name] = entry
    return manifest


def check() -> list[str]:
    """Files that are missing or differ from manifest.json."""
    manifest = json.loads((TARGET / "manifest.json").read_text())
    bad = []
    for entry in manifest["packages"].values():
        for dest, meta in entry["files"].items():
            path = TARGET / dest
            if not path.exists() or sha256(path) != meta["sha256"]:
                bad.append(dest)
    return bad


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check the vendored files against manifest.json")
    if parser.parse_args().check:
        bad = check()
        print("\n".join(f"differs from manifest.json: {b}" for b in bad) or "all GraphiQL assets match manifest.json")
        return 1 if bad else 0
    if shutil.which("npm") is None:
        print("npm (Node.js) is needed to fetch the packages", file=sys.stderr)
        return 1
    TARGET.mkdir(parents=True, exist_ok=True)
    manifest = refresh()
    (TARGET / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    for name, entry in manifest["packages"].items():
        print(f"{name} {entry['version']}: {', '.join(entry['files'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
