"""Crash safety under heavy writes: kill -9 a process whose store is busy committing batches from three threads,
reopen, verify the witness chain and every row; then carry on writing to the same file and crash it again.

tests/test_store_witness.py kills a single writer that flushes after every 37 rows. This one kills the store while
its writer thread is mid-transaction on batches filled by concurrent appenders (no flush calls, only the batch
size and interval), twice on one file, so the second crash lands on a chain that already survived one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
from test_store import PROJECT_ROOT, make_trajectory

from workbench.store import open_store

THREADS = 3
PER_THREAD = 1_000_000  # thread k writes ids k*PER_THREAD + 0, 1, 2, ... of each round's own block


def writer_code(db: Path, round_: int) -> str:
    return textwrap.dedent(
        f"""
        import sys, threading, time
        sys.path.insert(0, {str(PROJECT_ROOT / "tests")!r})
        from test_store import make_trajectory
        from workbench.store import open_store
        store = open_store({str(db)!r}, batch_size=200, flush_interval=0.02)

        def append(k):
            base = ({round_} * {THREADS} + k) * {PER_THREAD}
            i = 0
            while True:
                store.append(make_trajectory(base + i))
                i += 1
                while store.pending > 600:  # backpressure: batches stay ~600 rows, and the writer never idles
                    time.sleep(0.001)

        for k in range({THREADS}):
            threading.Thread(target=append, args=(k,), daemon=True).start()
        while True:
            print(store.written, flush=True)  # rows committed by this process so far
            time.sleep(0.005)
        """
    )


def crash_while_writing(db: Path, round_: int, at_least: int, rng: np.random.Generator) -> int:
    """Run a writer until it has committed `at_least` rows, wait a random moment, kill -9. Returns the committed
    count it last reported (rows the file must hold)."""
    proc = subprocess.Popen([sys.executable, "-c", writer_code(db, round_)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    committed = 0
    try:
        assert proc.stdout is not None
        while committed < at_least:
            line = proc.stdout.readline()
            assert line, "the writer died before it was killed"
            committed = int(line)
        time.sleep(float(rng.uniform(0.0, 0.05)))  # somewhere inside the next batches, not on a boundary
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return committed


def check_file(db: Path, must_hold: int) -> int:
    """Reopen after the crash: the chain verifies, the committed rows are there, and every row is intact."""
    with open_store(db) as store:
        report = store.verify()
        assert report.ok, report
        rows = store.trajectories_of("live")
        assert len(rows) == store.count() >= must_hold
        for t in rows:
            assert t == make_trajectory(int(t.trajectory_id.removeprefix("traj-"))), t.trajectory_id
        return len(rows)


def test_kill_9_during_heavy_concurrent_writes_twice_on_one_file(tmp_path: Path) -> None:
    db = tmp_path / "crash.duckdb"
    rng = np.random.default_rng(9)
    first = crash_while_writing(db, 0, 1_500, rng)
    held = check_file(db, first)
    second = crash_while_writing(db, 1, 1_500, rng)
    total = check_file(db, held + second)
    print(f"\ncrash: {held} rows after the first kill ({first} reported committed), {total} after the second")
    with open_store(db) as store:  # the chain carries on after two crashes
        store.append(make_trajectory(9_999_999))
    with open_store(db, read_only=True) as store:
        assert store.verify().ok and store.count() == total + 1
