"""The base every config section shares: strict pydantic models and the 'one of these names' check."""

from __future__ import annotations

import difflib
import re
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

# Fields whose values may be secrets (or a secret put in the wrong place): errors about them never echo the value.
SECRET_FIELDS = frozenset({"api_key", "api_key_env", "headers", "base_url"})
# A POSIX environment variable name. A key pasted here by mistake (`sk-...`, with dashes) is not one.
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


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


def env_var_name(value: str | None) -> str | None:
    """`value` if it can name an environment variable; otherwise a ValueError that does not repeat it (it may be a
    key pasted into the wrong field)."""
    if value is not None and not _ENV_NAME.fullmatch(value):
        raise ValueError(
            "api_key_env takes the NAME of an environment variable (letters, digits and _, e.g. OPENAI_API_KEY), "
            "and this value is not one, so it is not shown here; a key itself goes in `api_key` or in that variable"
        )
    return value


def http_url(value: str | None) -> str | None:
    """`value` if it is an http(s) URL without credentials in it (they would be exported and logged with it)."""
    if value is None:
        return None
    if not value.startswith(("http://", "https://")):
        shown = value if len(value) <= 60 and "@" not in value else value[:8] + "..."
        raise ValueError(f"base_url must start with http:// or https://, got '{shown}'")
    try:
        has_userinfo = "@" in urlsplit(value).netloc
    except ValueError:
        raise ValueError("base_url is not a valid URL (check its brackets and port)") from None
    if has_userinfo:
        raise ValueError(
            "base_url carries credentials (user:password@host); they would be exported and logged with the URL. "
            "Put the key in `api_key` or name its environment variable in `api_key_env`"
        )
    return value
