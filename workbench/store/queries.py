"""Named SQL: finds the `queries/` directory (source tree or installed wheel) and loads `<name>.sql` texts from it."""

from __future__ import annotations

import importlib.resources
import re
from collections.abc import Mapping
from functools import cache
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from workbench.errors import StoreError

# Names are file stems; refusing anything else keeps a caller-supplied name from reaching outside the directory.
_NAME = re.compile(r"^[A-Za-z0-9_]+$")

# Racing threads at worst both read the same file and store the same text, so no lock.
_cache: dict[str, str] = {}


@cache
def queries_dir() -> Traversable:
    """The directory holding the `.sql` files.

    A source checkout (or editable install) keeps them at the project top level, two levels above this package;
    a built wheel carries a copy inside the package as `workbench/queries` (pyproject force-include). The checkout
    wins so edits to `queries/*.sql` take effect without reinstalling; `schema.sql` must be present so an unrelated
    `queries` directory beside an installed package is not mistaken for ours.
    """
    checkout = Path(__file__).resolve().parents[2] / "queries"
    if (checkout / "schema.sql").is_file():
        return checkout
    packaged = importlib.resources.files("workbench") / "queries"
    if packaged.is_dir():
        return packaged
    raise StoreError(
        f"cannot find the SQL query files: looked in {checkout} and in the installed package "
        "(workbench/queries); reinstall clawft-workbench"
    )


def available_queries() -> list[str]:
    """Every query name there is, sorted."""
    return sorted(p.name[: -len(".sql")] for p in queries_dir().iterdir() if p.name.endswith(".sql") and p.is_file())


def load_query(name: str) -> str:
    """The SQL text of `queries/<name>.sql`, cached. Bind values as parameters; never format them into the text."""
    text = _cache.get(name)
    if text is not None:
        return text
    file = queries_dir() / f"{name}.sql" if _NAME.match(name) else None
    if file is None or not file.is_file():
        known = ", ".join(available_queries()) or "(none)"
        raise StoreError(f"no query named {name!r}; available queries: {known}")
    text = file.read_text(encoding="utf-8")
    _cache[name] = text
    return text


_MIGRATION = re.compile(r"^(\d{3})_[A-Za-z0-9_]+\.sql$")


def migrations() -> list[tuple[int, str, str]]:
    """The numbered migrations `queries/migrations/NNN_name.sql` as (version, file name, SQL), in order.

    Versions must run 1, 2, 3, ... without gaps or repeats: a missing file would otherwise be skipped silently.
    """
    folder = queries_dir() / "migrations"
    found: list[tuple[int, str, str]] = []
    if folder.is_dir():
        for p in folder.iterdir():
            match = _MIGRATION.match(p.name)
            if match and p.is_file():
                found.append((int(match.group(1)), p.name, p.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if versions != list(range(1, len(found) + 1)):
        raise StoreError(
            f"the schema migrations in {folder} are not numbered 001, 002, ... without gaps: found {versions}; "
            "reinstall clawft-workbench"
        )
    return found


def run(cursor: Any, name: str, params: Mapping[str, Any] | None = None) -> None:
    """Execute the named statement with bound parameters and drain its result.

    DuckDB refuses the next statement on a cursor whose last result was not consumed, and INSERT / UPDATE return
    a row count.
    """
    cursor.execute(load_query(name), params).fetchall()


def first_row(cursor: Any, name: str, params: Mapping[str, Any] | None = None) -> tuple[Any, ...] | None:
    """The first row of the named query (the rest drained, as DuckDB requires), or None."""
    rows = cursor.execute(load_query(name), params).fetchall()
    return tuple(rows[0]) if rows else None
