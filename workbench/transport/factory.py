"""Builds the configured transport (`transport.kind`): the simulated fleet or real providers over HTTP."""

from __future__ import annotations

from workbench.config import WorkbenchConfig
from workbench.pipeline.stages import LlmTransport
from workbench.prices import PriceTable
from workbench.transport.schedule import FleetSchedule


def referenced_models(config: WorkbenchConfig) -> list[str]:
    """Every provider/model the config's pipelines may send to: preferred models, and the default model
    where a pipeline names none (build_pipeline adds a `default` pipeline when the config has none)."""
    refs: list[str] = []
    if "default" not in config.pipelines or any(not pc.preferred_models for pc in config.pipelines.values()):
        refs.append(config.routing.default_model)
    for pc in config.pipelines.values():
        refs += pc.preferred_models
    return list(dict.fromkeys(config.resolve(m) for m in refs))


def fleet_schedule(config: WorkbenchConfig) -> FleetSchedule:
    """`transport.events` as a schedule, with aliases resolved to provider/model."""
    events = []
    for e in config.transport.events:
        data = e.model_dump()
        data["model"] = config.resolve(e.model)
        events.append(data)
    return FleetSchedule.from_dicts(events, "transport.events")


def transport_from_config(config: WorkbenchConfig, prices: PriceTable, seed: int | None = None) -> LlmTransport:
    """The transport `config.transport` describes. For `http`, a missing key is an error here, before any request."""
    tc = config.transport
    if tc.kind == "simulated":
        from workbench.transport.simulated import SimulatedTransport  # numpy: only when used

        return SimulatedTransport(
            prices,
            seed=tc.seed if seed is None else seed,
            extra_models=config.models.keys(),
            max_retries=tc.retry.max_retries,
            backoff_initial_s=tc.retry.backoff_initial_s,
            backoff_cap_s=tc.retry.backoff_cap_s,
            schedule=fleet_schedule(config),
            max_fallbacks=tc.max_fallbacks,
        )
    from workbench.transport.http import HttpTransport

    transport = HttpTransport.from_config(config, prices, seed=seed)
    transport.check_keys(m for m in referenced_models(config) if transport.serves(m))
    return transport
