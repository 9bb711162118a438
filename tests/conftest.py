"""Shared fixtures: fixed clocks, seeds and sample records, so tests and snapshots are deterministic."""

from __future__ import annotations

import pytest

from workbench.config import WorkbenchConfig, parse_config

FIXED_TIME = 1_700_000_000.0


@pytest.fixture
def fixed_clock() -> float:
    return FIXED_TIME


@pytest.fixture
def triage_config() -> WorkbenchConfig:
    return parse_config({"pipelines": {"triage": {"router": "static", "preferred_models": ["groq/llama-3.1-8b"]}}})
