"""The trajectory store: one DuckDB file, written through a batched background writer, read through named queries."""

from __future__ import annotations

from workbench.store.db import TrajectoryStore, open_store
from workbench.store.queries import load_query

__all__ = ["TrajectoryStore", "load_query", "open_store"]
