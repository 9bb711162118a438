"""The shipped sample logs (sample_logs/*.parquet): where they are, and seeding a new default store from them."""

from __future__ import annotations

import importlib.resources
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workbench.store.db import TrajectoryStore
    from workbench.store.transfer import ImportReport


@cache
def samples_dir() -> Path | None:
    """The sample_logs directory: the source checkout's, else the copy inside the installed wheel, else None."""
    checkout = Path(__file__).resolve().parents[2] / "sample_logs"
    if (checkout / "README.md").is_file():
        return checkout
    packaged = importlib.resources.files("workbench") / "sample_logs"
    if packaged.is_dir():
        return Path(str(packaged))
    return None


def sample_files() -> list[Path]:
    """Every sample log file, in name order."""
    folder = samples_dir()
    return sorted(folder.glob("*.parquet")) if folder is not None else []


def seed_from_samples(store: TrajectoryStore) -> list[ImportReport]:
    """Import every shipped sample log into `store` (one transaction); a store without samples stays empty."""
    files = sample_files()
    return store.import_files("parquet", files) if files else []
