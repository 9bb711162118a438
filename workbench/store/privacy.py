"""Privacy modes for the texts the store keeps (prompts, messages, responses): full, redacted or hash-only."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from typing import Literal, get_args

import pyarrow as pa
import pyarrow.compute as pc

from workbench.domain import Message, Trajectory
from workbench.errors import BadInputError

PrivacyMode = Literal["full", "redacted", "hash-only"]
PRIVACY_MODES: tuple[str, ...] = get_args(PrivacyMode)

# Secrets first: keys contain digits and would otherwise be half-masked as numbers.
_KEY = re.compile(
    r"""
    \b(?:
        sk-[A-Za-z0-9_\-]{16,}                  # OpenAI, Anthropic (sk-ant-...), DeepSeek, ...
      | (?:gsk|xai|pplx|fw)_[A-Za-z0-9_\-]{16,} # Groq, xAI, Perplexity, Fireworks
      | AKIA[0-9A-Z]{16}                        # AWS access key id
      | AIza[0-9A-Za-z_\-]{30,}                 # Google
      | gh[pousr]_[A-Za-z0-9]{30,}              # GitHub
      | xox[abprs]-[A-Za-z0-9\-]{10,}           # Slack
      | (?=[A-Za-z0-9_\-]*\d)(?=[A-Za-z0-9_\-]*[A-Za-z])[A-Za-z0-9_\-]{32,}  # any long mixed token
    )
    | (?<=Bearer\ )[A-Za-z0-9._~+/=\-]{8,}      # an Authorization header's credential
    """,
    re.VERBOSE,
)
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b")
# Six or more digits, single spaces, dashes or dots allowed between them: card, phone, account, id numbers.
_NUMBER = re.compile(r"(?<![\w])\+?\d(?:[ \-.]?\d){5,}(?![\w])")

KEY_MASK, EMAIL_MASK, NUMBER_MASK = "[key]", "[email]", "[number]"


def check_mode(mode: str) -> PrivacyMode:
    """`mode` if it is a privacy mode; otherwise a BadInputError naming the choices."""
    if mode not in PRIVACY_MODES:
        raise BadInputError(f"unknown privacy mode {mode!r}; choose one of: {', '.join(PRIVACY_MODES)}")
    return mode  # type: ignore[return-value]


def redact(text: str) -> str:
    """Mask API keys and tokens, email addresses and long numbers; keep everything else as it was."""
    text = _KEY.sub(KEY_MASK, text)
    text = _EMAIL.sub(EMAIL_MASK, text)
    return _NUMBER.sub(NUMBER_MASK, text)


def hash_text(text: str) -> str:
    """`sha256:<hex>` of the UTF-8 text: equal texts stay recognisably equal, nothing of them is readable."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest() if text else ""


def protect(text: str, mode: PrivacyMode) -> str:
    """One text as the store should keep it under `mode`."""
    if mode == "full":
        return text
    if mode == "redacted":
        return redact(text)
    return hash_text(text)


def _messages(messages: tuple[Message, ...], mode: PrivacyMode) -> tuple[Message, ...]:
    return tuple(Message(m.role, protect(m.content, mode)) for m in messages)


def protect_trajectory(t: Trajectory, mode: PrivacyMode) -> Trajectory:
    """The trajectory with its request messages, assembled context and response text under `mode`.

    Tool-call arguments, metadata and error messages are kept as they are: they are structured data the replay
    and scoring stages read, not free text from the user.
    """
    if mode == "full":
        return t
    return dataclasses.replace(
        t,
        request=dataclasses.replace(t.request, messages=_messages(t.request.messages, mode)),
        context=dataclasses.replace(t.context, messages=_messages(t.context.messages, mode)),
        response=dataclasses.replace(t.response, text=protect(t.response.text, mode)),
    )


def _protect_strings(values: pa.Array, mode: PrivacyMode) -> pa.Array:
    texts = values.to_pylist()
    return pa.array([None if x is None else protect(x, mode) for x in texts], pa.string())


def _protect_messages(column: pa.Array, mode: PrivacyMode) -> pa.Array:
    """A list<struct<role, content>> column with every content under `mode` (offsets and NULLs kept)."""
    values = column.values
    content = values.type.get_field_index("content")
    fields = [values.field(i) if i != content else _protect_strings(values.field(i), mode) for i in
              range(values.type.num_fields)]
    structs = pa.StructArray.from_arrays(fields, fields=list(values.type), mask=pc.is_null(values))
    mask = pc.is_null(column) if column.null_count else None
    return pa.ListArray.from_arrays(column.offsets, structs, type=column.type, mask=mask)


def protect_table(table: pa.Table, mode: PrivacyMode) -> pa.Table:
    """A trajectories table (ROW_SCHEMA) with its texts under `mode`, as protect_trajectory does for one record:
    request and context messages, the response text, and the prompt derived from the messages."""
    if mode == "full":
        return table
    for name in ("messages", "context_messages"):
        column = _protect_messages(table[name].combine_chunks(), mode)
        table = table.set_column(table.schema.get_field_index(name), table.schema.field(name), column)
    for name in ("response_text", "prompt"):
        column = _protect_strings(table[name].combine_chunks(), mode)
        table = table.set_column(table.schema.get_field_index(name), table.schema.field(name), column)
    return table
