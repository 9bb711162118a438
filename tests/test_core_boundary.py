"""The core never imports Textual: the notebook API and headless CLI must work without the TUI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def core_modules() -> list[str]:
    """Every module of the package but the faces, found on disk (pkgutil would import `workbench.tui`)."""
    names = []
    for path in sorted((ROOT / "workbench").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        name = ".".join(parts)
        if not name.startswith(("workbench.tui", "workbench.cli", "workbench.__main__")):
            names.append(name)
    return names


def test_core_does_not_import_textual() -> None:
    assert "workbench.session" in core_modules() and "workbench.store.writer" in core_modules()
    code = (
        "import importlib, sys\n"
        f"for name in {core_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "from workbench import Workbench\n"
        "wb = Workbench(db=':memory:', seed=0)\n"
        "wb.send('hello')\n"
        "wb.close()\n"
        "print('textual' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_help_does_not_import_heavy_modules() -> None:
    code = (
        "import sys\nfrom workbench.cli import build_parser\nbuild_parser()\n"
        "print(sorted({'textual', 'duckdb', 'numpy', 'polars'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
