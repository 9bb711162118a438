"""Polars string columns as replay reads them: strings, nulls as empty text."""

from __future__ import annotations

import numpy as np
import polars as pl
from numpy.typing import NDArray

MESSAGE_OVERHEAD = 4  # context.message_tokens: estimate_tokens(content) + 4 per message


def text_column(s: pl.Series) -> pl.Series:
    """`s` as a String column with nulls read as "", without a pass over the column when it already is one (each
    eager polars op is a pass over ~12 MB of prompt text per batch)."""
    if s.dtype != pl.String:
        s = s.cast(pl.String)
    return s.fill_null("") if s.null_count() else s


def prompt_tokens(s: pl.Series) -> NDArray[np.int64]:
    """`request_tokens` of a one-message request per prompt: len(prompt) // 4 + 1, plus the per-message overhead
    (one polars pass for the lengths, the arithmetic in numpy)."""
    lengths = s.str.len_chars()
    chars = (lengths.fill_null(0) if lengths.null_count() else lengths).to_numpy()  # a missing prompt is ""
    out: NDArray[np.int64] = chars.astype(np.int64) // 4 + (1 + MESSAGE_OVERHEAD)
    return out


__all__ = ["MESSAGE_OVERHEAD", "prompt_tokens", "text_column"]
