"""What `pip install seva-crm` puts into site-packages: one import package, seva_crm, holding the
repository's core/, schema/ and plugins/ folders, and nothing that could overwrite another
distribution's files (a popular PyPI package is called `schema`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
FOLDERS = {"seva_crm": "seva_crm", "seva_crm.core": "core", "seva_crm.schema": "schema", "seva_crm.plugins": "plugins"}


def run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, timeout=300, **kwargs)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def pip(*args: str) -> None:
    run(sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args)


@pytest.fixture(scope="module")
def wheels(tmp_path_factory) -> dict[str, Path]:
    """Seva's wheel, built out of tree from the repository's files, and a wheel of a package named
    `schema` such as PyPI's."""
    work = tmp_path_factory.mktemp("wheels")
    source, out = work / "seva", work / "out"
    for name in ("seva_crm", "core", "schema", "plugins"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    other = work / "other-schema"
    (other / "schema").mkdir(parents=True)
    (other / "schema" / "__init__.py").write_text('WHO = "the other schema library"\n')
    (other / "pyproject.toml").write_text('[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
                                          '[project]\nname = "schema"\nversion = "0.7.7"\n')
    for project in (source, other):
        pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(out), str(project))
    return {"seva": next(out.glob("seva_crm-*.whl")), "schema": next(out.glob("schema-*.whl"))}


def test_the_wheel_has_one_top_level_package_and_every_module(wheels):
    names = zipfile.ZipFile(wheels["seva"]).namelist()
    assert {n.split("/")[0] for n in names} == {"seva_crm", next(n.split("/")[0] for n in names if ".dist-info/" in n)}
    packaged = {n for n in names if n.endswith(".py")}
    in_repository = {f"{package.replace('.', '/')}/{path.relative_to(ROOT / folder).as_posix()}"
                     for package, folder in FOLDERS.items() for path in (ROOT / folder).rglob("*.py")
                     if "__pycache__" not in path.parts}
    assert in_repository <= packaged, f"not in the wheel (add the package to pyproject.toml): {sorted(in_repository - packaged)}"
    assert "seva_crm/schema/schema.graphql" in names
    entry_points = zipfile.ZipFile(wheels["seva"]).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "seva = seva_crm.cli:main" in entry_points


def test_installs_beside_a_package_named_schema_and_uninstalls_cleanly(wheels, tmp_path):
    env_dir = tmp_path / "env"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = str(env_dir / "bin" / "python")
    for wheel in (wheels["schema"], wheels["seva"]):  # the other library first: Seva must not overwrite it
        pip("--python", python, "install", "--no-deps", "--no-index", str(wheel))
    # Seva's dependencies come from this test environment's site-packages (no network here), after the new env's own
    site = next((env_dir / "lib").glob("python3*/site-packages"))
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    deps = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    probe = ("import schema, seva_crm, seva_crm.schema.app, seva_crm.plugins.sms, seva_crm.core.platform.plugins as p; "
             "print(schema.WHO); print(seva_crm.__file__); print(sorted(p.Plugins().loaded))")
    out = run(python, "-c", probe, env=deps, cwd=tmp_path).stdout.splitlines()
    assert out[0] == "the other schema library"
    assert out[1].startswith(str(env_dir))
    assert {"whatsapp", "razorpay", "sms", "email", "dpdp", "bangladesh"} <= set(eval(out[2]))  # noqa: S307 - our own output
    pip("--python", python, "uninstall", "-y", "seva-crm")
    out = run(python, "-c", "import schema; print(schema.WHO)", env=deps, cwd=tmp_path).stdout.strip()
    assert out == "the other schema library"
