"""Import and export files: trajectories and outcomes as Parquet or JSONL, bandit logs in OBP form.

A Parquet file written here carries `clawft.*` key-value metadata (table, log, kind, source, notes) so importing
it restores the catalogue entry. JSONL trajectories are one canonical JSON object per line (`Trajectory.to_dict()`
with sorted keys); JSONL outcomes are one outcome row per line. Every reader checks types and values and names
the file, row and reason of the first fault; nothing is written until a whole command's files have been read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, is_dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from workbench.domain import Trajectory
from workbench.errors import BadInputError
from workbench.store import obp
from workbench.store.outcomes import OUTCOME_SCHEMA, OutcomeSet, conform
from workbench.store.trajectory_table import TrajectoryTable, conform_trajectories, trajectories_table

FileFormat = Literal["parquet", "jsonl", "obp"]
FORMATS: tuple[str, ...] = ("parquet", "jsonl", "obp")
LOG_KINDS: tuple[str, ...] = ("live", "full-information", "bandit", "imported")
_META = "clawft."


@dataclass(frozen=True, slots=True)
class TrajectorySet:
    """Trajectory records read from one file (JSONL, OBP) or made by a generator, ready to be checked and chained."""

    trajectories: list[Trajectory]
    kind: str  # catalogue kind for the logs they land in
    source: str
    notes: str = ""
    lines: tuple[int, ...] = ()  # the file line of each record, when it came from one (names a bad row)

    @property
    def logs(self) -> list[str]:
        return sorted({t.log for t in self.trajectories})

    def as_table(self) -> TrajectoryTable:
        """The records as a checked table: the same checks a Parquet import gets."""
        lines = self.lines

        def describe(i: int) -> str:
            return f"line {lines[i]}" if i < len(lines) else f"record {i + 1}"

        table = trajectories_table(self.trajectories, self.source, describe)
        return TrajectoryTable(table, self.kind, self.source, self.notes)


Readout = TrajectorySet | TrajectoryTable | OutcomeSet


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What one import put where."""

    log: str
    kind: str
    rows: int
    source: str
    notes: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"log": self.log, "kind": self.kind, "rows": self.rows, "source": self.source, "notes": self.notes}


# -- reading ---------------------------------------------------------------------------------------------------


def _parquet_meta(table: pa.Table) -> dict[str, str]:
    raw = table.schema.metadata or {}
    out = {}
    for k, v in raw.items():
        key = k.decode("utf-8", "replace")
        if key.startswith(_META):
            out[key[len(_META) :]] = v.decode("utf-8", "replace")
    return out


def read_parquet(path: Path, name: str | None) -> Readout:
    where = str(path)
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise BadInputError(f"{where}: not a readable Parquet file: {exc}") from exc
    meta = _parquet_meta(table)
    kind_of_table = meta.get("table") or ("trajectories" if "trajectory_id" in table.column_names else "outcomes")
    if kind_of_table == "outcomes":
        log = name or meta.get("log")
        if log is None and "log" not in table.column_names:
            raise BadInputError(f"{where}: outcome rows without a log column; pass --name NAME")
        out = conform(table, where, log=log)
        logs = out["log"].unique().to_pylist()
        if len(logs) != 1:
            raise BadInputError(f"{where}: outcome rows of {len(logs)} logs ({', '.join(logs)}); import one log a file")
        return OutcomeSet(str(logs[0]), out, meta.get("source") or where, meta.get("notes", ""))
    if kind_of_table != "trajectories":
        raise BadInputError(f"{where}: clawft.table metadata says {kind_of_table!r}; expected trajectories or outcomes")
    kind = meta.get("kind", "imported")
    kind = kind if kind in LOG_KINDS else "imported"
    return TrajectoryTable(conform_trajectories(table, where, log=name), kind, where, meta.get("notes", ""))


@cache
def _trajectory_adapter() -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(Trajectory)


@cache
def _field_names(cls: type) -> frozenset[str]:
    return frozenset(f.name for f in fields(cls))


def _unknown_keys(obj: Any, record: Any, path: str = "") -> str | None:
    """The first key in `obj` that the record type has no field for (to_dict's `decision.provider` aside)."""
    if not isinstance(obj, dict) or not is_dataclass(record) or isinstance(record, type):
        return None
    known = _field_names(type(record))
    for key, value in obj.items():
        if key not in known:
            if path == "decision." and key == "provider":
                continue
            return f"{path}{key}"
        if isinstance(value, dict):  # only a nested record can hold a further unknown key the check sees
            found = _unknown_keys(value, getattr(record, key), f"{path}{key}.")
            if found:
                return found
    return None


def _trajectory_line(line: str, obj: dict[str, Any], where: str, name: str | None) -> Trajectory:
    """One JSONL line (and its parsed object) as a Trajectory, validated strictly."""
    from pydantic import ValidationError

    try:
        t: Trajectory = _trajectory_adapter().validate_json(line, strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ())) or "(line)"
        raise BadInputError(f"{where}: {loc}: {first.get('msg')}") from None
    unknown = _unknown_keys(obj, t)
    if unknown:
        raise BadInputError(f"{where}: unknown field {unknown!r}; trajectory lines are Trajectory.to_dict() objects")
    if name is not None:
        import dataclasses

        t = dataclasses.replace(t, log=name)
    return t


_OUTCOME_TYPES: dict[str, tuple[type, ...]] = {
    f.name: (bool,) if pa.types.is_boolean(f.type) else (int,) if pa.types.is_integer(f.type) else
    (int, float) if pa.types.is_floating(f.type) else (str,)
    for f in OUTCOME_SCHEMA
}


def _outcome_line(obj: dict[str, Any], where: str) -> dict[str, Any]:
    for key, value in obj.items():
        types = _OUTCOME_TYPES.get(key)
        if types is None:
            known = ", ".join(OUTCOME_SCHEMA.names)
            raise BadInputError(f"{where}: unknown outcome field {key!r}; outcome lines have: {known}")
        if value is not None and (not isinstance(value, types) or (isinstance(value, bool) and bool not in types)):
            raise BadInputError(f"{where}: {key}: expected {' or '.join(t.__name__ for t in types)}, got {value!r}")
    return obj


def read_jsonl(path: Path, name: str | None) -> Readout:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"{path}: cannot read: {exc}") from exc
    trajectories: list[Trajectory] = []
    numbers: list[int] = []
    outcome_rows: list[dict[str, Any]] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}: line {number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadInputError(f"{where}: not valid JSON: {exc.msg}") from None
        if not isinstance(obj, dict):
            raise BadInputError(f"{where}: expected a JSON object, got {type(obj).__name__}")
        is_trajectory = "trajectory_id" in obj
        if (trajectories and not is_trajectory) or (outcome_rows and is_trajectory):
            raise BadInputError(f"{where}: mixes trajectories and outcome rows; one kind a file")
        if is_trajectory:
            trajectories.append(_trajectory_line(line, obj, where, name))
            numbers.append(number)
        else:
            outcome_rows.append(_outcome_line(obj, where))
    if trajectories:
        return TrajectorySet(trajectories, "imported", str(path), lines=tuple(numbers))
    if not outcome_rows:
        raise BadInputError(f"{path}: no rows")
    columns = {
        f.name: pa.array([r.get(f.name) for r in outcome_rows], type=f.type)
        for f in OUTCOME_SCHEMA
        if any(f.name in r for r in outcome_rows)
    }
    table = conform(pa.table(columns), str(path), log=name)
    logs = table["log"].unique().to_pylist()
    if len(logs) != 1:
        raise BadInputError(f"{path}: outcome rows of {len(logs)} logs; import one log a file, or pass --name NAME")
    return OutcomeSet(str(logs[0]), table, str(path), "")


def read_obp(path: Path, name: str | None) -> Readout:
    log = obp.read_bandit_log(path)
    log_name = name or path.stem
    notes = (
        f"Open Bandit Pipeline log: {log.n_rounds} rounds, {len(log.action_names)} actions, "
        f"{log.context.shape[1]} context features; reward and pscore as logged"
    )
    return TrajectorySet(obp.to_trajectories(log, log_name), "bandit", str(path), notes)


def read_files(fmt: str, paths: Iterable[str | Path], name: str | None = None) -> list[Readout]:
    """Read every file (all or nothing: the first fault raises BadInputError naming file, row and reason)."""
    readers = {"parquet": read_parquet, "jsonl": read_jsonl, "obp": read_obp}
    reader = readers.get(fmt)
    if reader is None:
        raise BadInputError(f"unknown import format {fmt!r}; choose one of: {', '.join(FORMATS)}, or routellm")
    out: list[Readout] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.is_file():
            raise BadInputError(f"{path}: no such file")
        out.append(reader(path, name))
    return out


# -- writing ---------------------------------------------------------------------------------------------------


def _with_meta(table: pa.Table, meta: Mapping[str, str | None]) -> pa.Table:
    kv = {f"{_META}{k}".encode(): (v or "").encode("utf-8") for k, v in meta.items()}
    return table.replace_schema_metadata({**(table.schema.metadata or {}), **kv})


def write_parquet(table: pa.Table, path: Path, meta: Mapping[str, str | None]) -> None:
    # zstd and no statistics: the sample logs ship in the wheel, small and byte-for-byte reproducible.
    pq.write_table(_with_meta(table, meta), path, compression="zstd", write_statistics=False)


def write_jsonl(lines: Iterable[str], path: Path) -> int:
    n = 0
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for line in lines:
            handle.write(line)
            handle.write("\n")
            n += 1
    return n


def outcome_lines(table: pa.Table) -> Iterable[str]:
    encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"))
    for row in table.to_pylist():
        yield encoder.encode(row)


def check_format(fmt: str, path: Path) -> FileFormat:
    if fmt not in FORMATS:
        raise BadInputError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    if fmt == "obp" and path.suffix not in obp.SUFFIXES:
        raise BadInputError(f"{path}: an OBP export is written as .npz or .csv")
    return fmt  # type: ignore[return-value]


