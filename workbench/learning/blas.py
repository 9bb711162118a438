"""One BLAS thread for the learners' small matrix work.

Consolidation (a low-rank fold, k-means over a few hundred 384-d vectors) runs inline on the request path.
On a 2-core machine with the event loop, the store writer and a UI also running, OpenBLAS's default of one
thread per core makes these tiny products wait on each other: measured 7 ms p50 / 68 ms p99 with two threads
against 3 ms p50 / 3.5 ms p99 with one. The limit holds only inside the `with` block, so numpy elsewhere in the
process (a notebook's own work) keeps its threads.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from threadpoolctl import ThreadpoolController  # type: ignore[import-untyped]

_controller: Any = None


def single_threaded_blas() -> AbstractContextManager[Any]:
    global _controller
    if _controller is None:  # inspecting the loaded libraries costs milliseconds: once per process
        _controller = ThreadpoolController()
    limit: AbstractContextManager[Any] = _controller.limit(limits=1, user_api="blas")
    return limit
