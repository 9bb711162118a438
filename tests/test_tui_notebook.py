"""The notebook face: examples/quickstart.ipynb runs, in-process with the test extra (so it cannot rot) and, when
the `notebook` extra is installed, headlessly in a real kernel through nbclient."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "quickstart.ipynb"


def code_cells() -> list[str]:
    data = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in data["cells"] if c["cell_type"] == "code"]


def test_notebook_code_runs_in_process_and_its_objects_render() -> None:
    namespace: dict[str, Any] = {}
    shown: list[Any] = []
    for source in code_cells():
        # Like a notebook, the value of a cell's last bare expression is what it displays.
        *body, last = source.rstrip().splitlines()
        try:
            compiled_last = compile(last, "<cell>", "eval")
        except SyntaxError:
            exec(compile(source, "<cell>", "exec"), namespace)
            continue
        exec(compile("\n".join(body), "<cell>", "exec"), namespace)
        shown.append(eval(compiled_last, namespace))
    # The report and the comparison display as HTML; the fault made the chosen model's breaker open.
    report, comparison = namespace["report"], namespace["comparison"]
    assert "<h4>Candidates</h4>" in report._repr_html_() and "Witness" in report._repr_html_()
    assert comparison.outcome_source in comparison._repr_html_()
    board = namespace["board"].filter(namespace["board"]["model"] == namespace["chosen"])
    assert board["state"].to_list() == ["open"] and board["consecutive_failures"][0] >= 5
    assert shown[-2].height > 0 and "requests" in shown[-2].columns  # the named query's frame
    assert namespace["wb"].store.closed


def test_notebook_executes_headlessly_in_a_kernel(tmp_path: Path) -> None:
    nbclient = pytest.importorskip("nbclient", reason="the `notebook` extra (nbclient, nbformat, ipykernel) is "
                                                      "not installed: pip install '.[notebook]'")
    nbformat = pytest.importorskip("nbformat", reason="the `notebook` extra is not installed")
    pytest.importorskip("ipykernel", reason="the `notebook` extra is not installed")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
                            ).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    html = [o["data"]["text/html"] for c in nb.cells if c.cell_type == "code" for o in c.outputs
            if "text/html" in o.get("data", {})]
    assert any("Candidates" in h for h in html) and any("exact" in h for h in html)
