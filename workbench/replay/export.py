"""Export a tuned pipeline as a config file in the pipeline's own format, with its provenance inside.

The file is the same strict JSON `--config` reads (`clawft-workbench config validate` accepts it); provenance
(source log, estimator, objective, metrics, date) sits in the config's optional `provenance` section, which
never changes behaviour and is left out of the config hash. Secrets never reach it (`public_dict`).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from workbench.config import WorkbenchConfig, parse_config
from workbench.errors import BadInputError


def with_provenance(config: WorkbenchConfig, provenance: dict[str, Any]) -> dict[str, Any]:
    data = config.public_dict()
    data["provenance"] = {"exported_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                          "tool": "clawft-workbench", **provenance}
    return data


def export_config(config: WorkbenchConfig, path: str | os.PathLike[str], provenance: dict[str, Any]) -> Path:
    """Write `config` with `provenance` to `path`; re-reads it through the strict loader before returning."""
    data = with_provenance(config, provenance)
    parse_config(json.loads(json.dumps(data, default=str)), "exported config")  # what we write must load
    out = Path(path).expanduser()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        # Never sort keys: tier order is meaningful (cheapest first).
        out.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    except OSError as exc:
        raise BadInputError(f"cannot write the tuned config to {out}: {exc.strerror}; pick a writable --out") from exc
    return out
