"""Reads RouteLLM's full-information evaluation data (MMLU CSVs, MT-Bench judgements) into outcome rows.

Layouts (see the data's README): an MMLU-style directory holds `responses/*.csv` (or the CSVs directly), each
with a `prompt` column and one True/False correctness column per model, plus an optional
`contaminated_prompts.jsonl` whose `eval_prompt` texts are dropped. An MT-Bench directory holds `question.jsonl`
and `judgements.jsonl` (GPT-4 judge scores 1-10 per model and turn). The top directory holding `mmlu/` and
`mt_bench/` imports both. Costs are not in the data: they are derived from token estimates of the texts and the
price table, and every row says so (`cost_derived`, `cost_source`). Latency is unknown (NULL).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from workbench.domain import Message
from workbench.errors import BadInputError
from workbench.pipeline.context import estimate_tokens, request_tokens
from workbench.prices import PriceTable, shipped_prices
from workbench.store.outcomes import OUTCOME_SCHEMA, OutcomeSet, check_outcomes, price_name

# MMLU prompts end in "Answer:": the model's reply is the answer letter, one token.
MMLU_OUTPUT_TOKENS = 1
_TRUE = frozenset({"true", "1", "1.0"})
_FALSE = frozenset({"false", "0", "0.0"})
_ANSWER_START, _ANSWER_END = "[The Start of Assistant's Answer]", "[The End of Assistant's Answer]"
_CONV_START = "<|The Start of Assistant A's Conversation with User|>"
_CONV_END = "<|The End of Assistant A's Conversation with User|>"


def _tokens(*texts: str) -> int:
    return request_tokens([Message("user", t) for t in texts])


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"{path}: cannot read: {exc}") from exc
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadInputError(f"{path}: line {number}: not valid JSON: {exc.msg}") from exc
        if not isinstance(obj, dict):
            raise BadInputError(f"{path}: line {number}: expected a JSON object, got {type(obj).__name__}")
        yield number, obj


def _contaminated(path: Path) -> set[str]:
    if not path.is_file():
        return set()
    out: set[str] = set()
    for number, obj in _read_jsonl(path):
        text = obj.get("eval_prompt")
        if not isinstance(text, str):
            raise BadInputError(f"{path}: line {number}: eval_prompt must be a string, got {text!r}")
        out.add(text)
    return out


class _Costs:
    """Derives each model's cost from token estimates and one price table, and says how in words."""

    def __init__(self, prices: PriceTable, models: list[str], where: str) -> None:
        self.prices = prices
        self.names = {m: price_name(prices, m) for m in models}
        self.unpriced = sorted(m for m, n in self.names.items() if n is None)
        self.where = where

    def cost(self, model: str, input_tokens: int, output_tokens: int) -> float | None:
        name = self.names[model]
        return None if name is None else self.prices.cost(name, input_tokens, output_tokens)

    def source(self, model: str, how: str) -> str:
        name = self.names[model]
        if name is None:
            return f"unknown: no price for {model} in price table {self.prices.version}"
        return f"derived: {how} x prices of {name} ({self.prices.version})"

    def note(self) -> str:
        if not self.unpriced:
            return ""
        return f"; no price for {', '.join(self.unpriced)}: their cost_usd is NULL"


def _bool(value: str | None, where: str, column: str) -> float:
    text = (value or "").strip().lower()
    if text in _TRUE:
        return 1.0
    if text in _FALSE:
        return 0.0
    raise BadInputError(f"{where}: column {column!r}: expected True or False, got {value!r}")


def _csv_files(folder: Path) -> list[Path]:
    responses = folder / "responses"
    source = responses if responses.is_dir() else folder
    return sorted(p for p in source.iterdir() if p.suffix == ".csv" and p.is_file())


def read_mmlu(
    folder: Path, log: str, *, prices: PriceTable | None = None, keep_contaminated: bool = False
) -> OutcomeSet:
    """An MMLU-style directory of RouteLLM CSVs as one outcome log; prompt id = `<subject>:<row>`."""
    prices = prices or shipped_prices()
    files = _csv_files(folder)
    if not files:
        raise BadInputError(f"{folder}: no CSV files (expected responses/*.csv with a prompt column and model columns)")
    dropped_texts = set() if keep_contaminated else _contaminated(folder / "contaminated_prompts.jsonl")
    cols: dict[str, list[Any]] = {f.name: [] for f in OUTCOME_SCHEMA}
    models: list[str] | None = None
    costs: _Costs | None = None
    first_file = files[0]
    dropped = index = 0
    for path in files:
        subject = path.stem.removeprefix("mmlu_")
        try:
            handle = path.open(encoding="utf-8", newline="")
        except OSError as exc:
            raise BadInputError(f"{path}: cannot read: {exc}") from exc
        with handle:
            reader = csv.reader(handle)
            try:
                header = next(reader, None)
                if header is None or not header or header[0] != "prompt" or len(header) < 2:
                    raise BadInputError(
                        f"{path}: row 0 (header): expected `prompt` then one column per model, got {header!r}"
                    )
                file_models = header[1:]
                if models is None:
                    models = file_models
                    costs = _Costs(prices, models, str(folder))
                elif file_models != models:
                    raise BadInputError(
                        f"{path}: row 0 (header): model columns {file_models} differ from {first_file.name}'s {models}"
                    )
                assert costs is not None
                for row_number, record in enumerate(reader, 1):
                    where = f"{path}: row {row_number} (line {reader.line_num})"
                    if len(record) != len(header):
                        raise BadInputError(f"{where}: expected {len(header)} fields, got {len(record)}")
                    prompt = record[0]
                    if not prompt.strip():
                        raise BadInputError(f"{where}: the prompt is empty")
                    scores = [_bool(v, where, m) for v, m in zip(record[1:], models, strict=True)]
                    if prompt in dropped_texts:
                        dropped += 1
                        continue
                    input_tokens = _tokens(prompt)
                    extra = json.dumps({"file": path.name, "row": row_number - 1}, sort_keys=True)
                    for model, score in zip(models, scores, strict=True):
                        cols["log"].append(log)
                        cols["prompt_id"].append(f"{subject}:{row_number - 1}")
                        cols["row_index"].append(index)
                        cols["prompt"].append(prompt)
                        cols["task"].append(subject)
                        cols["model"].append(model)
                        cols["quality"].append(score)
                        cols["score"].append(score)
                        cols["cost_usd"].append(costs.cost(model, input_tokens, MMLU_OUTPUT_TOKENS))
                        cols["latency_ms"].append(None)
                        cols["input_tokens"].append(input_tokens)
                        cols["output_tokens"].append(MMLU_OUTPUT_TOKENS)
                        cols["cost_derived"].append(True)
                        cols["cost_source"].append(
                            costs.source(model, f"prompt tokens (~4 chars/token +4) and {MMLU_OUTPUT_TOKENS} output")
                        )
                        cols["price_version"].append(prices.version)
                        cols["extra"].append(extra)
                        cols["privacy"].append("full")
                    index += 1
            except csv.Error as exc:
                raise BadInputError(f"{path}: line {reader.line_num}: not valid CSV: {exc}") from exc
            except UnicodeDecodeError as exc:
                raise BadInputError(f"{path}: not UTF-8 text: {exc}") from exc
    table = pa.table(cols, schema=OUTCOME_SCHEMA)
    check_outcomes(table, str(folder))
    assert costs is not None and models is not None
    kept = " (none: --keep-contaminated)" if keep_contaminated else ""
    notes = (
        f"RouteLLM MMLU format: {index} prompts from {len(files)} CSV files, models {', '.join(models)}; "
        f"quality = answered correctly (1/0); dropped {dropped} contaminated prompt rows "
        f"(contaminated_prompts.jsonl, matched on eval_prompt){kept}; "
        f"cost DERIVED from estimated tokens (prompt ~4 chars/token +4, {MMLU_OUTPUT_TOKENS} output token) "
        f"and price table {prices.version}{costs.note()}; latency unknown"
    )
    return OutcomeSet(log, table, str(folder), notes)


def _between(text: str, start: str, end: str) -> str | None:
    i = text.find(start)
    j = text.find(end, i + len(start)) if i >= 0 else -1
    return text[i + len(start) : j].strip() if i >= 0 and j >= 0 else None


def _answer(judgement: dict[str, Any], turn: int) -> str | None:
    """The assistant's answer for `turn`, cut out of the judge's prompt (the only place the data keeps it)."""
    prompt = judgement.get("user_prompt")
    if not isinstance(prompt, str):
        return None
    if turn == 1:
        return _between(prompt, _ANSWER_START, _ANSWER_END)
    conversation = _between(prompt, _CONV_START, _CONV_END)
    if conversation is None or "### Assistant A:" not in conversation:
        return None
    last = conversation.rsplit("### Assistant A:", 1)[1]
    return last.split("\n\n### User:", 1)[0].strip()


def read_mt_bench(
    folder: Path, log: str, *, prices: PriceTable | None = None, keep_contaminated: bool = False
) -> OutcomeSet:
    """An MT-Bench directory as one outcome log: per question and model, the mean of the two turns' judge scores."""
    prices = prices or shipped_prices()
    qpath, jpath = folder / "question.jsonl", folder / "judgements.jsonl"
    dropped_texts = set() if keep_contaminated else _contaminated(folder / "contaminated_prompts.jsonl")
    questions: dict[int, tuple[int, dict[str, Any]]] = {}
    for number, q in _read_jsonl(qpath):
        qid, turns, category = q.get("question_id"), q.get("turns"), q.get("category")
        if not isinstance(qid, int) or isinstance(qid, bool):
            raise BadInputError(f"{qpath}: line {number}: question_id must be a whole number, got {qid!r}")
        if not (isinstance(turns, list) and len(turns) == 2 and all(isinstance(t, str) and t for t in turns)):
            raise BadInputError(f"{qpath}: line {number}: turns must be a list of two non-empty strings")
        if not isinstance(category, str):
            raise BadInputError(f"{qpath}: line {number}: category must be a string, got {category!r}")
        if qid in questions:
            raise BadInputError(f"{qpath}: line {number}: question_id {qid} appears twice")
        questions[qid] = (number, q)
    judged: dict[tuple[int, str], dict[int, tuple[float, str, list[str]]]] = {}
    for number, j in _read_jsonl(jpath):
        where = f"{jpath}: line {number}"
        qid, model, turn, score = j.get("question_id"), j.get("model"), j.get("turn"), j.get("score")
        if qid not in questions:
            raise BadInputError(f"{where}: question_id {qid!r} is not in {qpath.name}")
        if not isinstance(model, str) or not model:
            raise BadInputError(f"{where}: model must be a non-empty string, got {model!r}")
        if turn not in (1, 2):
            raise BadInputError(f"{where}: turn must be 1 or 2, got {turn!r}")
        if isinstance(score, bool) or not isinstance(score, int | float) or not 1 <= score <= 10:
            raise BadInputError(f"{where}: score must be a judge score from 1 to 10, got {score!r}")
        answer = _answer(j, turn)
        if answer is None:
            raise BadInputError(f"{where}: cannot find the assistant's answer in user_prompt (turn {turn})")
        slot = judged.setdefault((qid, model), {})
        if turn in slot:
            raise BadInputError(f"{where}: a second judgement for question {qid}, {model}, turn {turn}")
        judge = j.get("judge")
        slot[turn] = (float(score), answer, [str(x) for x in judge] if isinstance(judge, list) else [str(judge)])
    models = sorted({m for _, m in judged})
    if not models:
        raise BadInputError(f"{jpath}: no judgements")
    costs = _Costs(prices, models, str(folder))
    cols: dict[str, list[Any]] = {f.name: [] for f in OUTCOME_SCHEMA}
    dropped = index = 0
    for qid in sorted(questions):
        number, q = questions[qid]
        q1, q2 = q["turns"]
        if q1 in dropped_texts:
            dropped += 1
            continue
        for model in models:
            slot = judged.get((qid, model), {})
            if set(slot) != {1, 2}:
                raise BadInputError(
                    f"{jpath}: question {qid} ({qpath.name} line {number}) lacks a turn "
                    f"{', '.join(str(t) for t in sorted({1, 2} - set(slot)))} judgement for {model}"
                )
            (s1, a1, judge1), (s2, a2, judge2) = slot[1], slot[2]
            input_tokens = _tokens(q1) + _tokens(q1, a1, q2)  # turn 2 re-sends the conversation so far
            output_tokens = estimate_tokens(a1) + estimate_tokens(a2)
            mean = (s1 + s2) / 2
            cols["log"].append(log)
            cols["prompt_id"].append(str(qid))
            cols["row_index"].append(index)
            cols["prompt"].append(q1)
            cols["task"].append(q["category"])
            cols["model"].append(model)
            cols["quality"].append(mean / 10)
            cols["score"].append(mean)
            cols["cost_usd"].append(costs.cost(model, input_tokens, output_tokens))
            cols["latency_ms"].append(None)
            cols["input_tokens"].append(input_tokens)
            cols["output_tokens"].append(output_tokens)
            cols["cost_derived"].append(True)
            cols["cost_source"].append(
                costs.source(model, "tokens of both turns' questions and answers (~4 chars/token)")
            )
            cols["price_version"].append(prices.version)
            cols["extra"].append(
                json.dumps(
                    {"turn2": q2, "turn_scores": [s1, s2], "judges": [judge1, judge2], "question_line": number},
                    sort_keys=True,
                )
            )
            cols["privacy"].append("full")
        index += 1
    table = pa.table(cols, schema=OUTCOME_SCHEMA)
    check_outcomes(table, str(folder))
    notes = (
        f"RouteLLM MT-Bench format: {index} questions, models {', '.join(models)}; quality = mean of the two turns' "
        f"GPT-4 judge scores / 10 (score keeps the 1-10 mean); dropped {dropped} contaminated questions "
        f"(matched on turn 1); cost DERIVED from estimated tokens of the questions and of the answers quoted in "
        f"the judge prompts, and price table {prices.version}{costs.note()}; latency unknown"
    )
    return OutcomeSet(log, table, str(folder), notes)


def read_routellm(
    path: str | Path, name: str | None = None, *, prices: PriceTable | None = None, keep_contaminated: bool = False
) -> list[OutcomeSet]:
    """Every log a RouteLLM-format directory holds, named `NAME` (one dataset) or `NAME-mmlu`, `NAME-mt-bench`."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise BadInputError(f"{folder}: not a directory; give a RouteLLM-format directory of CSVs")
    options: dict[str, Any] = {"prices": prices, "keep_contaminated": keep_contaminated}
    if (folder / "mmlu").is_dir() or (folder / "mt_bench").is_dir():
        prefix = name or "routellm"
        sets = []
        if (folder / "mmlu").is_dir():
            sets.append(read_mmlu(folder / "mmlu", f"{prefix}-mmlu", **options))
        if (folder / "mt_bench").is_dir():
            sets.append(read_mt_bench(folder / "mt_bench", f"{prefix}-mt-bench", **options))
        return sets
    default = "routellm-" + folder.name.replace("_", "-").lower()
    if (folder / "judgements.jsonl").is_file():
        return [read_mt_bench(folder, name or default, **options)]
    if (folder / "responses").is_dir() or any(p.suffix == ".csv" for p in folder.iterdir()):
        return [read_mmlu(folder, name or default, **options)]
    raise BadInputError(
        f"{folder}: not a RouteLLM-format directory: expected responses/*.csv or *.csv (MMLU style), "
        "question.jsonl + judgements.jsonl (MT-Bench), or mmlu/ and mt_bench/ subdirectories"
    )


SAMPLE_SOURCES = {
    "routellm-mmlu": "RouteLLM (lm-sys/RouteLLM, routellm/evals/mmlu), Apache-2.0: see sample_logs/NOTICE",
    "routellm-mt-bench": "RouteLLM (lm-sys/RouteLLM, routellm/evals/mt_bench), Apache-2.0: see sample_logs/NOTICE",
}


def convert_routellm(src: str | Path, out_dir: str | Path) -> list[Path]:
    """Write the RouteLLM data under `src` as the project's sample logs (`<log>.parquet` in `out_dir`).

    Deterministic: the same data and pyarrow version give the same bytes (no paths or times in the files).
    """
    from workbench.store.transfer import write_parquet

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for s in read_routellm(src):
        path = out / f"{s.log}.parquet"
        meta = {
            "table": "outcomes",
            "log": s.log,
            "kind": "full-information",
            "source": SAMPLE_SOURCES.get(s.log, s.log),
            "notes": s.notes,
            "format": "1",
        }
        write_parquet(s.table, path, meta)
        written.append(path)
    return written
