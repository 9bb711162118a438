"""One BLAS thread for the learners' small matrix work.

Consolidation (a low-rank fold, k-means over a few hundred 384-d vectors) runs inline on the request path.
On a 2-core machine with the event loop, the store writer and a UI also running, OpenBLAS's default of one
thread per core makes these tiny products wait on each other: measured 7 ms p50 / 68 ms p99 with two threads
against 3 ms p50 / 3.5 ms p99 with one. The limit holds only inside the `with` block, so numpy elsewhere in the
process (a notebook's own work) keeps its threads.

Blocks nest: only the outermost one sets and restores the limit (the limit is process-wide, so a block entered
while another, in any thread, holds it is already single-threaded). A replay that consolidates thousands of
times holds one block around all of them instead of paying for the limit at each (~10-30 us a time).
"""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

_controller: Any = None
_lock = threading.Lock()
_depth = 0  # blocks open now, across threads
_limiter: Any = None  # the outermost block's limit, restored when the last block closes


class _OneThread:
    def __enter__(self) -> None:
        global _controller, _depth, _limiter
        with _lock:
            if _depth == 0:
                if _controller is None:  # inspecting the loaded libraries costs milliseconds: once per process
                    _controller = ThreadpoolController()
                _limiter = _controller.limit(limits=1, user_api="blas")
            _depth += 1

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        global _depth, _limiter
        with _lock:
            _depth -= 1
            if _depth == 0 and _limiter is not None:
                _limiter.restore_original_limits()
                _limiter = None


def single_threaded_blas() -> _OneThread:
    return _OneThread()
