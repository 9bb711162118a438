"""Transport commands: `mock-server`, the simulated fleet as an OpenAI- and Anthropic-compatible HTTP server."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from types import FrameType

from workbench.commands.common import EXIT_OK, Handler, Subparsers, add_globals
from workbench.errors import BadInputError


def register(sub: Subparsers) -> dict[str, Handler]:
    mock = sub.add_parser(
        "mock-server",
        help="serve the simulated fleet over HTTP on loopback (OpenAI and Anthropic APIs, fault injection)",
        description=(
            "Serves GET /v1/models, POST /v1/chat/completions (OpenAI) and POST /v1/messages (Anthropic) from "
            "the seeded simulated fleet until interrupted. The first line printed is the address it listens on. "
            "Faults can be changed while it runs: POST /_mock/faults with the same JSON as --faults."
        ),
    )
    mock.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    mock.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    mock.add_argument("--faults", metavar="FILE",
                      help='JSON: {"models": {"MODEL or *": {"rate_429": 0.5, ...}}, "events": [fleet events]}')
    mock.add_argument("--pace", type=float, default=0.0, metavar="F",
                      help="play simulated TTFT and token rates in real time x F (default 0: answer at once)")
    mock.add_argument("--hang-s", type=float, default=30.0, metavar="S",
                      help="how long a `hang` fault holds a request before dropping it (default 30)")
    add_globals(mock)
    return {"mock-server": cmd_mock_server}


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def cmd_mock_server(args: argparse.Namespace) -> int:
    from workbench.api import resolve_config
    from workbench.pipeline.build import price_table
    from workbench.transport.factory import fleet_schedule
    from workbench.transport.mock_server import MockServer, load_faults
    from workbench.transport.schedule import FleetSchedule

    if not 0 <= args.port <= 65535:
        raise BadInputError(f"mock-server: --port must be 0-65535, got {args.port}")
    if args.hang_s <= 0:
        raise BadInputError("mock-server: --hang-s must be > 0")
    config = resolve_config(getattr(args, "config", None))
    faults, events = load_faults(args.faults) if args.faults else ({}, FleetSchedule())
    schedule = FleetSchedule((*fleet_schedule(config).events, *events.events))
    seed = getattr(args, "seed", None)
    server = MockServer(
        args.host, args.port, seed=config.transport.seed if seed is None else seed, prices=price_table(config),
        faults=faults, schedule=schedule, pace=args.pace, hang_s=args.hang_s, extra_models=config.models.keys(),
    )
    out = sys.stdout
    out.write(f"listening on {server.base_url}\n")
    out.write(f"  OpenAI     POST {server.base_url}/chat/completions\n")
    out.write(f"  Anthropic  POST {server.base_url}/messages\n")
    out.write(f"  models     GET  {server.base_url}/models   ({len(server.fleet.models())} simulated models)\n")
    out.write(f"  faults     GET/POST/DELETE {server.base_url[:-3]}/_mock/faults   ({len(faults)} set)\n")
    out.write(f"  try: clawft-workbench send \"hello\" --provider mock --base-url {server.base_url}\n")
    out.write("Ctrl+C stops.\n")
    out.flush()
    signal.signal(signal.SIGTERM, _interrupt)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    print("mock-server stopped", file=sys.stderr)
    return EXIT_OK
