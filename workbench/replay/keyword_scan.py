"""Keyword classification of a whole prompt column at once, with the CueMatcher's rule, exactly.

`KeywordClassifier` scans one prompt at a time (~5 us). Replay classifies millions, so this module finds every
keyword occurrence in a whole column in one native pass (polars' Aho-Corasick `find_many` / `extract_many`,
ASCII case-insensitive), then applies the matcher's rules to the hits with numpy over the column's Arrow bytes:

- a word counts where it is a whole token (no `[A-Za-z0-9_-]` byte on either side);
- a `stem*` counts where a token starts with the stem; a phrase where its words are consecutive tokens
  (any separators between them), the last one a prefix when it ends in `*`;
- within a group hits do not overlap: at one token the first phrase in the matcher's order wins over a word;
- odd cues (`tl;dr`) count apart, like the matcher's regex does.

Rows where those rules could be read two ways are classified by the scalar classifier instead, so the result is
always the scalar classifier's: rows with non-ASCII text (Unicode lower-casing and `\\w` differ from the
byte rules here), rows where two hits of one group overlap, rows holding the first word of a multi-word odd
cue. `KeywordColumn.scalar_rows` says how many took that path.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from workbench.domain import ChatRequest
from workbench.pipeline import classify
from workbench.pipeline.classify import KeywordClassifier
from workbench.replay.columns import text_column

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

# Token bytes of ASCII text: what `[\w-]` matches there. Non-ASCII rows never reach the byte rules.
_IS_TOKEN = np.zeros(256, dtype=bool)
for _b in b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-":
    _IS_TOKEN[_b] = True
_LOWER = np.arange(256, dtype=np.uint8)
_LOWER[65:91] += 32

# Columns at least this long are scanned as two halves on two threads (below it, thread start-up is not repaid).
PARALLEL_ROWS = 16_384
_CORES = os.cpu_count() or 1
# Role kinds of a pattern (one pattern string can play several).
EXACT, STEM, PHRASE, ODD, ODD_STAR, TRIGGER = range(6)
# Order of hits starting at one token within a group, as the matcher tries them: phrases (their own order) first.
_RANK_EXACT, _RANK_STEM = 1 << 20, (1 << 20) + 1


@dataclass(frozen=True)
class _Role:
    pattern: int
    kind: int
    groups: tuple[int, ...]
    words: tuple[str, ...] = ()  # a phrase's words after the first (the last without its `*`)
    star: bool = False
    rank: int = 0
    cue: int = 0  # odd cues: which one (their hits must not overlap each other)


@dataclass(frozen=True)
class KeywordColumn:
    """Task type and confidence per prompt; `names[code[i]]` is row i's task type."""

    names: list[str]
    code: NDArray[np.int16]
    confidence: FloatArray
    scalar_rows: int  # rows the scalar classifier decided (see the module docstring)

    def task_types(self) -> list[str]:
        names = self.names
        return [names[c] for c in self.code.tolist()]


@dataclass(frozen=True)
class CueCounts:
    """Per row and group: hits as the matcher lists them (repeats included) and, when asked, distinct hit texts;
    tokens per row when asked; rows the byte rules could not settle (`scalar`)."""

    counts: NDArray[np.int64]  # n x groups
    distinct: NDArray[np.int64] | None
    words: IntArray | None
    scalar: BoolArray


class _Hits:
    """Hits collected per role kind: row, group, start/end byte, order at one token, text identity."""

    def __init__(self) -> None:
        self.parts: list[tuple[IntArray, ...]] = []

    def add(self, row: IntArray, group: int, start: IntArray, end: IntArray, rank: int, ident: NDArray[np.uint64],
            ) -> None:
        k = row.size
        text = ident.view(np.int64) if ident.size == k else np.zeros(k, dtype=np.int64)  # no identities asked for
        self.parts.append((row, np.full(k, group, dtype=np.int64), start, end, np.full(k, rank, dtype=np.int64), text))

    def columns(self) -> tuple[IntArray, ...]:
        if not self.parts:
            z = np.zeros(0, dtype=np.int64)
            return z, z, z, z, z, z
        return tuple(np.concatenate([p[i] for p in self.parts]) for i in range(6))


class CueScan:
    """The CueMatcher's per-group hits over whole columns of prompts (see the module docstring)."""

    def __init__(self, groups: Mapping[str, Sequence[str]]) -> None:
        self.groups = list(groups)
        patterns: dict[str, int] = {}
        roles: list[_Role] = []
        # Usable only when every cue's lower-cased form is ASCII: a non-ASCII cue could match ASCII text under
        # Unicode case folding, which the byte rules below do not model.
        self.usable = True
        phrases: dict[tuple[str, ...], list[int]] = {}
        odd: dict[str, list[int]] = {}

        def pid(text: str) -> int:
            return patterns.setdefault(text, len(patterns))

        for gi, words in enumerate(groups.values()):
            # The same reading of each cue as the scalar matcher's (classify.cue_kind).
            for w, kind in filter(None, map(classify.cue_kind, words)):
                if kind == classify.ODD:
                    odd.setdefault(w, []).append(gi)
                elif kind == classify.PHRASE:
                    phrases.setdefault(tuple(w.split()), []).append(gi)
                elif not w.isascii():  # a non-ASCII word or stem is never a token of ASCII text
                    continue
                elif kind == classify.STEM:
                    roles.append(_Role(pid(w[:-1]), STEM, (gi,)))
                else:
                    roles.append(_Role(pid(w), EXACT, (gi,)))
        # The matcher's phrase order: longest text first (a stable sort, so ties keep first-seen order).
        ordered = sorted(phrases.items(), key=lambda kv: len(" ".join(kv[0])), reverse=True)
        for rank, (parts_, gis) in enumerate(ordered):
            if not all(p.isascii() for p in parts_):
                continue
            star = parts_[-1].endswith("*")
            body = (*parts_[:-1], parts_[-1].rstrip("*"))
            roles.append(_Role(pid(body[0]), PHRASE, tuple(gis), words=body[1:], star=star, rank=rank))
        for cue, (w, gis) in enumerate(odd.items()):
            if not w.isascii():
                self.usable = False
                continue
            star = w.endswith("*")
            stem = w[:-1] if star else w
            if " " in stem or not stem:
                roles.append(_Role(pid(stem.split()[0]), TRIGGER, ()))
            else:
                roles.append(_Role(pid(stem), ODD_STAR if star else ODD, tuple(gis), cue=cue))
        self.patterns = list(patterns)
        self._lengths = np.array([len(p) for p in self.patterns], dtype=np.int64)
        self._roles = roles
        by_pattern: list[list[int]] = [[] for _ in self.patterns]
        for i, role in enumerate(roles):
            by_pattern[role.pattern].append(i)
        self._by_pattern = by_pattern

    def scan(self, prompts: pl.Series | Sequence[str], *, distinct: Sequence[int] = (), words: bool = False,
             ) -> CueCounts:
        """Hit counts per (row, group); distinct hit texts for the groups listed in `distinct`; tokens per row.

        A long column is scanned as two halves on two threads: the Aho-Corasick pass (polars) and most of the
        numpy bookkeeping release the GIL, so a second core cuts a batch's scan by ~1/3 (rows are independent)."""
        s = prompts if isinstance(prompts, pl.Series) else pl.Series("prompt", list(prompts), dtype=pl.String)
        s = text_column(s)
        n = s.len()
        if n < PARALLEL_ROWS or _CORES < 2:
            return self._scan(s, frozenset(distinct), words)
        half = n // 2
        with ThreadPoolExecutor(2, thread_name_prefix="cue-scan") as pool:
            a, b = pool.map(lambda part: self._scan(part, frozenset(distinct), words),
                            [s.slice(0, half), s.slice(half, n - half)])
        return CueCounts(
            np.concatenate([a.counts, b.counts]),
            None if a.distinct is None or b.distinct is None else np.concatenate([a.distinct, b.distinct]),
            None if a.words is None or b.words is None else np.concatenate([a.words, b.words]),
            np.concatenate([a.scalar, b.scalar]),
        )

    def _scan(self, s: pl.Series, want: frozenset[int], words: bool) -> CueCounts:
        n = s.len()
        g = len(self.groups)
        counts = np.zeros((n, g), dtype=np.int64)
        uniq = np.zeros((n, g), dtype=np.int64) if want else None
        scalar = (s.str.len_bytes() != s.str.len_chars()).to_numpy()  # non-ASCII text: the scalar classifier
        if not self.usable:
            scalar[:] = True
        n_words = None
        if n and (words or (self.patterns and self.usable)):
            data, offsets = _buffers(s)
            if words:
                n_words = _token_counts(data, offsets)
            if self.patterns and self.usable:
                self._count(s, data, offsets, counts, uniq, scalar, want)
        return CueCounts(counts, uniq, n_words, scalar)

    def _count(self, s: pl.Series, data: NDArray[np.uint8], offsets: IntArray, counts: NDArray[np.int64],
               uniq: NDArray[np.int64] | None, scalar: BoolArray, wanted: frozenset[int]) -> None:
        n = s.len()
        frame = pl.DataFrame({"p": s}).select(
            pos=pl.col("p").str.find_many(self.patterns, ascii_case_insensitive=True, overlapping=True),
            hit=pl.col("p").str.extract_many(self.patterns, ascii_case_insensitive=True, overlapping=True),
        )
        per_row = frame["pos"].list.len().to_numpy().astype(np.int64)
        if int(per_row.sum()) == 0:
            return
        pos = np.asarray(_flat(frame["pos"]).to_numpy(zero_copy_only=False), dtype=np.int64)
        hit = pl.Series(_flat(frame["hit"])).str.to_lowercase()
        pattern = hit.cast(pl.Enum(self.patterns)).to_physical().to_numpy().astype(np.int64)
        row = np.repeat(np.arange(n, dtype=np.int64), per_row)
        keep = ~scalar[row]
        row, pos, pattern = row[keep], pos[keep], pattern[keep]

        start = offsets[row] + pos  # global byte index of each hit
        row_end = offsets[row + 1]
        end = start + self._lengths[pattern]
        top = len(data) - 1
        before = (pos == 0) | ~_IS_TOKEN[data[np.maximum(start - 1, 0)]]
        after = (end >= row_end) | ~_IS_TOKEN[data[np.minimum(end, top)]]
        free = _Hits()  # words, stems, phrases: within a group they do not overlap
        loose = _Hits()  # odd cues: counted apart, as the matcher's regex pass does
        none = np.zeros(0, dtype=np.uint64)
        order = np.argsort(pattern, kind="stable")
        bounds = np.searchsorted(pattern[order], np.arange(len(self.patterns) + 1))
        for p in range(len(self.patterns)):
            idx = order[bounds[p] : bounds[p + 1]]
            if idx.size == 0:
                continue
            for r in self._by_pattern[p]:
                role = self._roles[r]
                if role.kind == TRIGGER:
                    scalar[row[idx]] = True
                    continue
                ok = before[idx] & (after[idx] if role.kind in (EXACT, PHRASE, ODD) else True)
                sel = idx[ok]
                if sel.size == 0:
                    continue
                st, rend = start[sel], row_end[sel]
                want = not wanted.isdisjoint(role.groups)  # hit texts are only compared where asked
                if role.kind == EXACT:
                    ident = np.full(sel.size, _text_hash(self.patterns[p]), dtype=np.uint64) if want else none
                    free.add(row[sel], role.groups[0], st, end[sel], _RANK_EXACT, ident)
                elif role.kind == STEM:
                    stop = _token_end(data, end[sel], rend)
                    ident = _span_hash(data, st, stop) if want else none
                    free.add(row[sel], role.groups[0], st, stop, _RANK_STEM, ident)
                elif role.kind == PHRASE:
                    found, last, last_start = _phrase(data, end[sel], rend, role.words, role.star)
                    ident = none
                    # The matcher's text for a phrase: its tokens joined by single spaces (lower-cased).
                    head = " ".join([self.patterns[p], *role.words[:-1]]) + " "
                    if want and role.star:
                        # Rows where the phrase did not follow may end past the buffer: hash nothing there.
                        last = np.where(found, last, last_start)
                        ident = _join_hash(head, _span_hash(data, last_start, last), last - last_start)
                    elif want:
                        ident = np.full(sel.size, _text_hash(head + role.words[-1]), dtype=np.uint64)
                    for grp in role.groups:
                        free.add(row[sel][found], grp, st[found], last[found], role.rank,
                                 ident[found] if want else none)
                else:
                    stop = end[sel] if role.kind == ODD else _token_end(data, end[sel], rend)
                    if not want:
                        ident = none
                    elif role.kind == ODD:
                        ident = np.full(sel.size, _text_hash(self.patterns[p]), dtype=np.uint64)
                    else:
                        ident = _span_hash(data, st, stop)
                    for grp in role.groups:
                        loose.add(row[sel], grp, st, stop, role.cue, ident)
        self._tally(free.columns(), loose.columns(), counts, uniq, scalar)

    def _tally(self, free: tuple[IntArray, ...], loose: tuple[IntArray, ...], counts: NDArray[np.int64],
               uniq: NDArray[np.int64] | None, scalar: BoolArray) -> None:
        """Count each group's hits per row: the first hit (by the matcher's order) at each token, no overlaps;
        odd-cue hits on top; and, when asked, the distinct hit texts among them."""
        g = len(self.groups)
        row, group, start, end, rank, ident = free
        cells: list[IntArray] = []
        idents: list[IntArray] = []
        if row.size:
            order = _order(row * g + group, start, rank)
            row, group, start, end, ident = row[order], group[order], start[order], end[order], ident[order]
            cell = row * g + group
            first = np.ones(row.size, dtype=bool)
            first[1:] = (cell[1:] != cell[:-1]) | (start[1:] != start[:-1])
            row, cell, start, end = row[first], cell[first], start[first], end[first]
            ident = ident[first]
            # Overlap within a (row, group): a hit starting before an earlier one ended. Rows with one go scalar.
            seg = np.zeros(row.size, dtype=np.int64)
            seg[1:] = np.cumsum(cell[1:] != cell[:-1])
            span = int(end.max()) + 1
            running = np.maximum.accumulate(seg * span + end)
            prev = np.full(row.size, -1, dtype=np.int64)
            prev[1:] = running[:-1] - seg[1:] * span  # negative when the previous hit is in another cell
            scalar[row[start < prev]] = True
            np.add.at(counts.reshape(-1), cell, 1)
            cells.append(cell)
            idents.append(ident)
        o_row, o_group, o_start, o_end, o_cue, o_ident = loose
        if o_row.size:
            # One odd cue's hits must not overlap (its regex would not find both): those rows go scalar.
            key = (o_row * g + o_group) * (int(o_cue.max()) + 1) + o_cue
            srt = np.lexsort((o_start, key))
            k2, st2, stop2 = key[srt], o_start[srt], o_end[srt]
            clash = (k2[1:] == k2[:-1]) & (st2[1:] < stop2[:-1])
            scalar[o_row[srt][1:][clash]] = True
            o_cell = o_row * g + o_group
            np.add.at(counts.reshape(-1), o_cell, 1)
            cells.append(o_cell)
            idents.append(o_ident)
        if uniq is not None and cells:
            cell_all = np.concatenate(cells)
            ident_all = np.concatenate(idents)
            order = np.lexsort((ident_all, cell_all))
            c, i = cell_all[order], ident_all[order]
            new = np.ones(c.size, dtype=bool)
            new[1:] = (c[1:] != c[:-1]) | (i[1:] != i[:-1])
            np.add.at(uniq.reshape(-1), c[new], 1)


class KeywordScan:
    """The keyword rule of `KeywordClassifier(keywords, default)` over whole columns of prompts."""

    def __init__(self, keywords: Mapping[str, Sequence[str]], default_task_type: str = "triage") -> None:
        self.groups = list(keywords)
        self.default_task_type = default_task_type
        self.names = list(dict.fromkeys([*self.groups, default_task_type]))
        self._default_code = self.names.index(default_task_type)
        self._scalar = KeywordClassifier(keywords, default_task_type)
        self.cues = CueScan(keywords)

    def classify(self, prompts: pl.Series | Sequence[str], found: CueCounts | None = None) -> KeywordColumn:
        """Task type per prompt; `found` is this scan's counts when they were recorded with the log (see
        cue_features.py), so only the rows they leave unsettled are read."""
        s = prompts if isinstance(prompts, pl.Series) else pl.Series("prompt", list(prompts), dtype=pl.String)
        s = text_column(s)
        if found is None:
            found = self.cues.scan(s)
        code, confidence = self.pick(found.counts)
        rows = np.flatnonzero(found.scalar)
        if rows.size:
            done: dict[str, tuple[int, float]] = {}
            for i, prompt in zip(rows.tolist(), s.gather(rows).to_list(), strict=True):
                got = done.get(prompt)
                if got is None:
                    task, conf, _ = self._scalar.task_type(ChatRequest.from_prompt(prompt))
                    got = done[prompt] = (self.names.index(task), conf)
                code[i], confidence[i] = got
        return KeywordColumn(self.names, code, confidence, int(rows.size))

    def pick(self, counts: NDArray[np.integer[Any]]) -> tuple[NDArray[np.int16], FloatArray]:
        """`pick_task` per row of task-group hit counts: (code into `names`, confidence)."""
        n, groups = counts.shape
        code = np.full(n, self._default_code, dtype=np.int16)
        confidence = np.zeros(n)
        if not groups:
            return code, confidence
        # Column by column (a handful of task types): reductions along a row of a few cells cost ~2x more.
        best = counts[:, 0].astype(np.int64)
        total = best.copy()
        arg = np.zeros(n, dtype=np.int16)
        for j in range(1, groups):
            col = counts[:, j]
            arg[col > best] = j  # strictly more: the first type with the most hits keeps it, as argmax does
            np.maximum(best, col, out=best)
            total += col
        hit = best > 0
        group_code = np.array([self.names.index(t) for t in self.groups], dtype=np.int16)
        code[hit] = group_code[arg[hit]]
        if hit.any():
            # Python's round(best / total, 4), as the scalar classifier computes it, once per distinct pair.
            b, t = best[hit], total[hit]
            width = int(t.max()) + 1
            key = b * width + t
            if width * width <= 1 << 20:  # small counts (the usual case): a dense table, no sort
                seen = np.zeros(width * width, dtype=bool)
                seen[key] = True
                table = np.zeros(width * width)
                for k in np.flatnonzero(seen).tolist():
                    table[k] = round((k // width) / (k % width), 4)
                confidence[hit] = table[key]
            else:
                keys, inverse = np.unique(key, return_inverse=True)
                values = [round((k // width) / (k % width), 4) for k in keys.tolist()]
                confidence[hit] = np.array(values)[inverse]
        return code, confidence


def _buffers(s: pl.Series) -> tuple[NDArray[np.uint8], IntArray]:
    """The column's UTF-8 bytes and each row's start offset (n + 1 of them), zero-copy where Arrow allows."""
    arr = s.to_arrow()
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type != pa.large_string():
        arr = pc.cast(arr, pa.large_string())
    _, off_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(off_buf, dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(1, dtype=np.uint8)
    if data.size == 0:
        data = np.zeros(1, dtype=np.uint8)
    return data, offsets.astype(np.int64)


_P = np.uint64(1099511628211)  # FNV prime: the multiplier of the polynomial text hash


def _span_hash(data: NDArray[np.uint8], start: IntArray, stop: IntArray) -> NDArray[np.uint64]:
    """A 64-bit polynomial hash of each lower-cased byte span [start, stop): the identity of a hit's text."""
    h = np.zeros(start.size, dtype=np.uint64)
    cur = start.copy()
    live = np.flatnonzero(cur < stop)
    while live.size:
        with np.errstate(over="ignore"):  # arithmetic modulo 2^64 is the point
            h[live] = h[live] * _P + _LOWER[data[cur[live]]].astype(np.uint64)
        cur[live] += 1
        live = live[cur[live] < stop[live]]
    return h


def _order(cell: IntArray, start: IntArray, rank: IntArray) -> IntArray:
    """The permutation sorting hits by (cell, start, rank): one stable argsort of a mixed-radix key when it fits
    in 63 bits (hits arrive nearly sorted, which a stable sort exploits), else a lexsort."""
    s_w = int(start.max()) + 1
    r_w = int(rank.max()) + 1
    if (int(cell.max()) + 1) * s_w * r_w < (1 << 62):
        out: IntArray = np.argsort((cell * s_w + start) * r_w + rank, kind="stable")
        return out
    return np.lexsort((rank, start, cell))


def _text_hash(text: str) -> np.uint64:
    """`_span_hash` of a (lower-case ASCII) text."""
    h = 0
    for b in text.encode():
        h = (h * int(_P) + b) & ((1 << 64) - 1)
    return np.uint64(h)


def _join_hash(head: str, tail: NDArray[np.uint64], tail_len: IntArray) -> NDArray[np.uint64]:
    """The hash of `head` followed by a span whose hash is `tail` (length `tail_len`), as `_span_hash` would give."""
    mask, p = (1 << 64) - 1, int(_P)
    h = 0
    for b in head.encode():
        h = (h * p + b) & mask
    top = int(tail_len.max(initial=0))
    powers = [1]
    for _ in range(top):
        powers.append((powers[-1] * p) & mask)
    with np.errstate(over="ignore"):  # arithmetic modulo 2^64 is the point
        out: NDArray[np.uint64] = np.uint64(h) * np.array(powers, dtype=np.uint64)[tail_len] + tail
    return out


def _token_counts(data: NDArray[np.uint8], offsets: IntArray) -> IntArray:
    """Tokens (`[A-Za-z0-9_-]+` runs) per row of ASCII text: what the matcher's token list is long."""
    lo, hi = int(offsets[0]), int(offsets[-1])
    if hi <= lo:
        return np.zeros(offsets.size - 1, dtype=np.int64)
    tok = _IS_TOKEN[data[lo:hi]]
    starts = tok.copy()
    starts[1:] &= ~tok[:-1]
    first = offsets[:-1][offsets[1:] > offsets[:-1]] - lo
    starts[first] = tok[first]  # a row's first byte starts a token whatever the previous row ended with
    # Token starts before each row boundary, differenced: one pass over the bytes, no search per token.
    before = np.zeros(starts.size + 1, dtype=np.int64)
    np.cumsum(starts, out=before[1:])
    out: IntArray = before[offsets[1:] - lo] - before[offsets[:-1] - lo]
    return out


def _flat(column: pl.Series) -> pa.Array:
    """A list column's values, concatenated (empty lists contribute nothing)."""
    arr = column.to_arrow()
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr.flatten()


def _token_end(data: NDArray[np.uint8], at: IntArray, stop: IntArray) -> IntArray:
    """The first non-token byte at or after `at` (or the row's end)."""
    return _advance(data, at, stop, while_token=True)


def _advance(data: NDArray[np.uint8], at: IntArray, stop: IntArray, *, while_token: bool) -> IntArray:
    cur = at.copy()
    live = np.flatnonzero(cur < stop)
    while live.size:
        c = cur[live]
        more = _IS_TOKEN[data[c]] == while_token
        live = live[more]
        cur[live] += 1
        live = live[cur[live] < stop[live]]
    return cur


def _phrase(
    data: NDArray[np.uint8], head_end: IntArray, stop: IntArray, words: tuple[str, ...], star: bool
) -> tuple[BoolArray, IntArray, IntArray]:
    """Which phrase heads are followed by `words` as the next tokens; where each match ends; where its last
    token starts."""
    ok = np.ones(head_end.size, dtype=bool)
    cur = head_end.copy()
    last_start = cur
    top = len(data) - 1
    for k, word in enumerate(words):
        cur = _advance(data, cur, stop, while_token=False)  # skip the separators to the next token
        last_start = cur
        wb = np.frombuffer(word.encode(), dtype=np.uint8)
        ok &= cur + len(wb) <= stop
        for j, b in enumerate(wb.tolist()):
            ok &= _LOWER[data[np.minimum(cur + j, top)]] == b
        cur = cur + len(wb)
        if k == len(words) - 1 and star:
            cur = _token_end(data, cur, stop)
        else:
            ok &= (cur >= stop) | ~_IS_TOKEN[data[np.minimum(cur, top)]]
    return ok, cur, last_start


def scalar_reference(keywords: Mapping[str, Sequence[str]], default: str) -> Callable[[str], tuple[str, float]]:
    """The scalar classifier's (task type, confidence) for one prompt: what the column pass must equal."""
    clf = KeywordClassifier(keywords, default)

    def one(prompt: str) -> tuple[str, float]:
        task, conf, _ = clf.task_type(ChatRequest.from_prompt(prompt))
        return task, conf

    return one


__all__ = ["CueCounts", "CueScan", "KeywordColumn", "KeywordScan", "scalar_reference"]
