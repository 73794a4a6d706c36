"""What text the system accepts: every string from outside (GraphQL arguments and variables,
webhook and public bodies, CSV cells) is refused if it holds a code point no database column or
person needs: NUL and the other C0 control characters except tab, line feed and carriage
return, lone surrogates (half of a UTF-16 pair) and the non-characters U+FFFE and U+FFFF.
PostgreSQL refuses NUL in text outright, and a lone surrogate cannot be encoded as UTF-8."""

from __future__ import annotations

import re
from typing import Any

INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def invalid_char(text: str) -> str | None:
    """The first code point ``text`` may not hold, as ``U+0000``; None if it is clean."""
    found = INVALID.search(text)
    return f"U+{ord(found.group()):04X}" if found else None


def find_invalid(value: Any, path: str = "") -> tuple[str, str] | None:
    """The first string in a JSON-like value (dicts, lists, strings; keys too) that holds an
    invalid code point: ``(path, "U+0000")`` with a dotted path (``input.tags.2``); else None.
    Iterative, so a deeply nested value cannot exhaust the stack."""
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            if (char := invalid_char(item)) is not None:
                return where, char
        elif isinstance(item, dict):
            children = []
            for key, child in item.items():
                key = str(key)
                if (char := invalid_char(key)) is not None:
                    return where, char
                children.append((f"{where}.{key}" if where else key, child))
            stack.extend(reversed(children))
        elif isinstance(item, (list, tuple)):
            stack.extend(reversed([(f"{where}.{i}" if where else str(i), child) for i, child in enumerate(item)]))
    return None
