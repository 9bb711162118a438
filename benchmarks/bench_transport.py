"""Time per request of the workbench's HttpTransport against the mock server, next to raw httpx on the same server.

    python benchmarks/bench_transport.py [--quick] [--json]

The measurement lives in `workbench.bench.transport` (its docstring says what is compared and how), so an
installed `clawft-workbench bench` runs it too. Goal: the transport takes at most 1.2x raw httpx's time.
"""

from __future__ import annotations

from workbench.bench.script import main
from workbench.bench.transport import run, table

if __name__ == "__main__":
    main(__doc__ or "", run, table, "fewer requests (a smoke run)")
