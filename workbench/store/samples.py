"""The shipped sample logs (sample_logs/*.parquet): where they are, and seeding a new default store from them."""

from __future__ import annotations

import importlib.resources
import threading
from collections.abc import Sequence
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


def holds_trajectories(path: Path) -> bool:
    """Whether a sample file holds trajectories (slow to import: each is chained) rather than outcome rows."""
    import pyarrow.parquet as pq

    meta: dict[bytes, bytes] = pq.read_metadata(path).metadata or {}
    return meta.get(b"clawft.table", b"") != b"outcomes"


def seed_from_samples(store: TrajectoryStore, files: Sequence[Path] | None = None) -> list[ImportReport]:
    """Import shipped sample logs into `store` (one transaction); a store without samples stays empty."""
    chosen = list(sample_files() if files is None else files)
    return store.import_files("parquet", chosen) if chosen else []


def seed_in_background(store: TrajectoryStore) -> threading.Thread | None:
    """Seed a new store without making its first user wait.

    Outcome logs (full-information, fast to import) go in at once; trajectory logs, whose every row is
    chained by the witness, are imported on a background thread. Until they land, replay reads those logs
    straight from sample_logs/ (workbench.replay.loader), so nothing is missing, only not yet copied.
    """
    files = sample_files()
    slow = [f for f in files if holds_trajectories(f)]
    seed_from_samples(store, [f for f in files if f not in slow])
    if not slow:
        return None

    def work() -> None:
        try:
            seed_from_samples(store, slow)
        except Exception as exc:  # reported on the store, not raised into a thread nobody joins for errors
            store.notice = f"seeding the sample trajectories failed ({exc}); replay reads them from sample_logs/"

    thread = threading.Thread(target=work, name="seed-samples", daemon=True)
    thread.start()
    return thread
