"""clawft-workbench: the operator's bench for a six-stage LLM routing pipeline.

The package root is lazy (PEP 562) so `clawft-workbench --help` does not pay for DuckDB, numpy or Textual.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from workbench.api import Workbench

__all__ = ["Workbench", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "Workbench":
        from workbench.api import Workbench

        return Workbench
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")
