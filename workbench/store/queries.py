"""Named SQL: finds the `queries/` directory (source tree or installed wheel) and loads `<name>.sql` texts from it."""

from __future__ import annotations

import importlib.resources
import re
from functools import cache
from importlib.resources.abc import Traversable
from pathlib import Path

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
