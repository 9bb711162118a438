"""The base every config section shares: strict pydantic models and the 'one of these names' check."""

from __future__ import annotations

import difflib

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Unknown keys rejected, frozen after validation, defaults validated like given values."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


def one_of(value: str, choices: tuple[str, ...], what: str) -> str:
    """`value` if it is one of `choices`; otherwise a ValueError naming the closest choice and all of them."""
    if value not in choices:
        hint = difflib.get_close_matches(value, choices, n=1)
        did = f" (did you mean '{hint[0]}'?)" if hint else ""
        raise ValueError(f"unknown {what} '{value}'{did}; choose one of: {', '.join(choices)}")
    return value
