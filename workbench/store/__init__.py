"""The trajectory store: one DuckDB file, written through a batched background writer, read through named queries."""

from __future__ import annotations

from workbench.store.db import TrajectoryStore, default_db_path, open_store
from workbench.store.privacy import PRIVACY_MODES, PrivacyMode
from workbench.store.queries import load_query

__all__ = ["PRIVACY_MODES", "PrivacyMode", "TrajectoryStore", "default_db_path", "load_query", "open_store"]
