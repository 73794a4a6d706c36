"""Custom scalars, registered on the schema through ``SCALAR_MAP``.

``BigInt``: an integer of any size, serialised as a string of digits. GraphQL's Int is 32-bit
(2,147,483,647 paise is only about 2 crore rupees) and JavaScript numbers lose precision past
2^53, so money sums leave the API as strings: ``"2500000000"``. As input it accepts an Int or
such a string."""

from __future__ import annotations

from typing import NewType

import strawberry
from graphql import IntValueNode, StringValueNode

BigInt = NewType("BigInt", int)


def _parse(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError("BigInt must be an integer or a string of digits")
    text = str(value)
    if not text.lstrip("-").isdigit() or len(text) > 40:
        raise ValueError("BigInt must be an integer or a string of digits")
    return int(text)


def _parse_literal(node, variables=None) -> int:
    if isinstance(node, (IntValueNode, StringValueNode)):
        return _parse(node.value)
    raise ValueError("BigInt must be an integer or a string of digits")


SCALAR_MAP = {
    BigInt: strawberry.scalar(
        name="BigInt",
        description='An integer of any size, serialised as a string of digits (e.g. "2500000000").',
        serialize=lambda value: str(int(value)),
        parse_value=_parse,
        parse_literal=_parse_literal,
    ),
}
