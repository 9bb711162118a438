"""Benchmarks an installed workbench can run: one module per area, each with `run(quick) -> dict`.

`run` returns the area's headline figures under the names `clawft-workbench bench --json` promises, each a
`Figure` (value, goal, met), plus the area's detail. `workbench.bench.suite` runs every area in a child
process of its own, so one area's memory, threads and imports never colour another's figures.
"""
