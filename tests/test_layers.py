"""Privacy sits above billing: billing defines its tables as privacy sources without importing
``core.privacy`` (which imports billing's sources), so the two cannot import each other."""

import ast
from pathlib import Path

import seva_crm.core.billing as billing


def test_billing_does_not_import_privacy():
    found = []
    for path in Path(billing.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            found += [f"{path.name}: {n}" for n in names if n.startswith("seva_crm.core.privacy")]
    assert found == []
