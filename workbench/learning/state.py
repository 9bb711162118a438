"""Learned state as bytes: named numpy arrays plus a JSON header in one .npz blob (exact floats, compact)."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np

from workbench.errors import BadInputError


def pack(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    named: dict[str, Any] = {"__meta__": np.array(json.dumps(meta, sort_keys=True)), **arrays}
    np.savez(buf, **named)
    return buf.getvalue()


def unpack(blob: bytes, what: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    try:
        with np.load(io.BytesIO(blob)) as data:
            arrays = {k: np.array(data[k]) for k in data.files if k != "__meta__"}
            meta = json.loads(str(data["__meta__"]))
    except (OSError, KeyError, ValueError) as exc:
        raise BadInputError(f"{what}: not learned state saved by the workbench ({exc}); delete that policy "
                            "version or start the learner fresh") from None
    if not isinstance(meta, dict):
        raise BadInputError(f"{what}: learned state has no header; delete that policy version")
    return meta, arrays
