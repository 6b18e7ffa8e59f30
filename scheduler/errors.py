"""Readable errors for bad input: one line per problem, naming the field."""

from __future__ import annotations

from pydantic import ValidationError


def field_path(loc: tuple[int | str, ...]) -> str:
    """Dotted path of a location: `staff[3].contract.min_rest_min`."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(request)"


def describe(exc: ValidationError) -> list[str]:
    """One sentence per validation problem: the field, then the rule."""
    lines = []
    for error in exc.errors(include_url=False):
        # pydantic adds the union member tried ("DateRange", "function-after")
        # to the location; a dispatcher does not need it.
        loc = tuple(
            p for p in error["loc"] if not (isinstance(p, str) and p[:1].isupper())
        )
        loc = tuple(p for p in loc if not str(p).startswith("function-"))
        message = str(error["msg"]).removeprefix("Value error, ")
        # Cross-field checks on the whole request name their field themselves.
        lines.append(f"{field_path(loc)}: {message}" if loc else message)
    return lines
