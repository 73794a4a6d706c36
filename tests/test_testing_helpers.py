"""The installed testing helpers (``seva_crm.testing``), as a partner uses them: the complete
example of docs/testing.md, written out file by file into a directory of its own and run by
pytest in a separate process, with nothing from this repository but the installed package."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).parents[1] / "docs" / "testing.md"
FILE_BLOCK = re.compile(r"```(?:python|toml)\n# (\S+)\n(.*?)```", re.DOTALL)


def example_files() -> dict[str, str]:
    """The example's files: each code block of the docs that starts with a ``# <path>`` line."""
    return {path: body for path, body in FILE_BLOCK.findall(DOCS.read_text())}


def test_the_docs_example_is_a_complete_package():
    assert set(example_files()) == {"pyproject.toml", "seva_plugin_greeter/__init__.py", "tests/conftest.py",
                                    "tests/test_greeter.py"}


def test_a_partners_suite_runs_on_the_installed_helpers(pytester):
    for path, body in example_files().items():
        target = pytester.path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(body)
    sources = "".join(example_files().values())
    assert "from tests" not in sources and "seva_crm.testing" in sources  # only the installed package
    imported = set(re.findall(r"^(?:from|import) (seva_crm[\w.]*)", sources, re.M))
    assert imported == {"seva_crm.plugin_api", "seva_crm.testing.client"}  # the facade and the testing helpers
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=300)
    result.assert_outcomes(passed=3)
