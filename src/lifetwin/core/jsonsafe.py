"""JSON from outside, read safely: no NaN or infinities, no integer beyond 64 bits, no
nesting deeper than ``MAX_DEPTH``. Used by every route and connector that reads JSON a
stranger wrote, so one hostile document is refused with one sentence instead of
breaking something later (a date of ``Infinity``, a value of 10**400).
"""

from __future__ import annotations

from typing import Any

import orjson

from lifetwin.core.errors import LifeTwinError

MAX_DEPTH = 64
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class JsonError(LifeTwinError):
    """JSON that is malformed or outside what LifeTwin reads."""


def loads(data: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON; raise JsonError naming the problem and where it is.

    >>> loads(b'{"a": [1, 2.5, null]}')
    {'a': [1, 2.5, None]}
    >>> try:
    ...     loads(b'{"date": Infinity}')
    ... except JsonError as exc:
    ...     print(exc)
    The body is not JSON (unexpected character, expected a JSON value: line 1 column 10 (char 9)).
    """
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise JsonError(f"The body is not JSON ({exc.args[0]}).") from None
    problem = check(value, max_depth)
    if problem:
        raise JsonError(problem)
    return value


def check(value: Any, max_depth: int = MAX_DEPTH) -> str | None:
    """Why a parsed document is outside what LifeTwin reads (None when it is fine).

    >>> check([[[1]]], max_depth=2)
    'The JSON is nested deeper than 2 levels (at [0][0]).'
    >>> check({"n": 2**64})
    'The number at n is beyond 64-bit integers.'
    """
    if not isinstance(value, dict | list):
        return _scalar(value, "the top")
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    while stack:
        node, depth, path = stack.pop()
        if depth > max_depth:
            return f"The JSON is nested deeper than {max_depth} levels (at {path or 'the top'})."
        is_list = isinstance(node, list)
        for key, child in enumerate(node) if is_list else node.items():
            kind = type(child)
            if kind is dict or kind is list:
                stack.append((child, depth + 1, path + _step(path, key, is_list)))
            elif (kind is float and (child != child or child in _INFINITIES)) or (
                kind is int and not INT64_MIN <= child <= INT64_MAX
            ):
                return _scalar(child, path + _step(path, key, is_list))
    return None


_INFINITIES = (float("inf"), float("-inf"))


def _step(path: str, key: Any, is_list: bool) -> str:
    return f"[{key}]" if is_list else (f".{key}" if path else str(key))


def _scalar(node: Any, where: str) -> str | None:
    if isinstance(node, float):
        if node != node or node in (float("inf"), float("-inf")):
            return f"The number at {where} is not finite."
    elif (
        isinstance(node, int) and not isinstance(node, bool) and not INT64_MIN <= node <= INT64_MAX
    ):
        return f"The number at {where} is beyond 64-bit integers."
    return None
