"""The core commands: send a prompt, list trajectories, validate / show / export configs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from workbench.commands.common import (
    EXIT_BAD_INPUT,
    EXIT_FAIL,
    EXIT_OK,
    Handler,
    Subparsers,
    add_globals,
    print_json,
)
from workbench.errors import BadInputError, ConfigError, WorkbenchError


def register(sub: Subparsers) -> dict[str, Handler]:
    send = sub.add_parser("send", help="send one prompt through the pipeline and print the decision and response")
    send.add_argument("prompt", help="the user message")
    send.add_argument("--json", action="store_true", help="one JSON object on stdout")
    direct = send.add_argument_group(
        "direct send", "bypass routing and send through the real http transport (logged with strategy `explicit`)"
    )
    direct.add_argument("--model", metavar="NAME", help="provider/model (or alias) to send to, e.g. openai/gpt-4o-mini")
    direct.add_argument("--provider", metavar="NAME",
                        help="provider to send through; `mock` = the mock server (default base URL "
                             "http://127.0.0.1:8765/v1)")
    direct.add_argument("--base-url", metavar="URL", help="endpoint base URL (without --provider: a custom "
                                                           "OpenAI-compatible server)")
    direct.add_argument("--wire", choices=("openai", "anthropic"), help="wire format override")
    add_globals(send)

    trajs = sub.add_parser("trajectories", help="list the newest logged trajectories")
    trajs.add_argument("--limit", type=int, default=20)
    trajs.add_argument("--json", action="store_true")
    add_globals(trajs)

    cfg = sub.add_parser("config", help="validate, show or export pipeline configs")
    cfg_sub = cfg.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    validate = cfg_sub.add_parser("validate", help="exit 0 when FILE is valid; exit 2 with `PATH: reason` lines")
    validate.add_argument("file")
    show = cfg_sub.add_parser("show", help="print the effective config (defaults filled in, secrets left out)")
    add_globals(show)
    export = cfg_sub.add_parser("export", help="write the effective config, or its JSON schema")
    export.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    export.add_argument("--schema", action="store_true", help="export the JSON schema instead of the config")
    add_globals(export)
    return {"send": cmd_send, "trajectories": cmd_trajectories, "config": cmd_config}


# -- send ------------------------------------------------------------------------------------------
def _send_payload(t: Any, db_path: str, transport: str) -> dict[str, Any]:
    from workbench.domain import to_plain

    d, r = t.decision, t.response
    return {
        "trajectory_id": t.trajectory_id,
        "task_type": t.profile.task_type,
        "pipeline": t.pipeline_id,
        "transport": transport,
        "decision": {
            "provider": d.provider,
            "model": d.model,
            "strategy": d.strategy,
            "propensity": d.propensity,
            "explored": d.explored,
            "uncertainty": d.uncertainty,
            "reason": d.reason,
            "candidates": to_plain(d.candidates),
            "fallbacks": list(d.fallbacks),
        },
        "response": {
            "text": r.text,
            "served_model": r.served_model,
            "status": r.status,
            "finish_reason": r.finish_reason,
            "error": r.error,
            "attempts": to_plain(r.attempts),
            "input_tokens": r.usage.input_tokens,
            "output_tokens": r.usage.output_tokens,
        },
        "cost_usd": r.cost_usd,
        "price_version": r.price_version,
        "latency_ms": r.latency_ms,
        "ttft_ms": r.ttft_ms,
        "db": db_path,
    }


def _print_send(p: dict[str, Any]) -> None:
    d, r = p["decision"], p["response"]
    w = sys.stdout.write
    w(f"task       {p['task_type']}   (pipeline {p['pipeline']}, transport {p['transport']})\n")
    w(f"decision   {d['model']}   via {d['strategy']}, propensity {d['propensity']:.2f}\n")
    w(f"reason     {d['reason']}\n")
    w("candidates\n")
    for c in d["candidates"]:
        mark = "chosen" if c["model"] == d["model"] else (f"excluded: {c['excluded']}" if c["excluded"] else "")
        w(f"  {c['model']:<48} score {c['score']:.3f}  {mark}\n")
    attempts = ", ".join(a["status"] for a in r["attempts"]) or "none"
    w(f"response   {r['status']} from {r['served_model'] or '-'}   attempts: {attempts}\n")
    if r["error"]:
        w(f"error      {r['error']}\n")
    w("\n" + (r["text"] or "(no text)") + "\n\n")
    w(f"cost       ${p['cost_usd']:.6f}   ({r['input_tokens']} in / {r['output_tokens']} out tokens, "
      f"prices {p['price_version']})\n")
    w(f"latency    {p['latency_ms']:.0f} ms   (first token {p['ttft_ms']:.0f} ms)\n")
    w(f"logged     {p['trajectory_id']} -> {p['db']}\n")


def cmd_send(args: argparse.Namespace) -> int:
    from workbench.api import Workbench

    if not args.prompt.strip():
        raise BadInputError("send: the prompt is empty; pass the text to send, e.g. clawft-workbench send \"hello\"")
    config: Any = args.config
    target = None
    if args.model or args.provider or args.base_url or args.wire:
        from workbench.api import resolve_config
        from workbench.transport.direct import direct_config

        config, target = direct_config(resolve_config(args.config), model=args.model, provider=args.provider,
                                       base_url=args.base_url, wire=args.wire)
    with Workbench(db=args.db, config=config, seed=args.seed) as wb:
        if wb.store.read_only:
            raise WorkbenchError(f"send: {wb.store.notice}; the trajectory could not be logged")
        t = wb.send(args.prompt, model=target)
        wb.store.flush()
        payload = _send_payload(t, wb.db_path, wb.transport_name)
    if args.json:
        print_json(payload)
    else:
        _print_send(payload)
    return EXIT_OK if t.response.status == "ok" else EXIT_FAIL


def cmd_trajectories(args: argparse.Namespace) -> int:
    from workbench.api import Workbench

    if args.limit <= 0:
        raise BadInputError("trajectories: --limit must be a positive number")
    with Workbench(db=args.db, config=args.config, read_only=True) as wb:
        df = wb.trajectories(args.limit)
    if args.json:
        print_json(df.to_dicts())
    else:
        import polars as pl

        with pl.Config(tbl_rows=args.limit, tbl_width_chars=160, fmt_str_lengths=40):
            print(df)
    return EXIT_OK


# -- config ----------------------------------------------------------------------------------------
def cmd_config(args: argparse.Namespace) -> int:
    from workbench.api import resolve_config
    from workbench.config import json_schema, load_config

    if args.config_command == "validate":
        try:
            cfg = load_config(args.file)
            from workbench.pipeline import build_pipeline

            build_pipeline(cfg)  # models the transport cannot serve are config errors too
        except ConfigError as exc:
            for problem in exc.problems:
                print(f"{problem}")
            print(f"{args.file}: invalid ({len(exc.problems)} problem(s))", file=sys.stderr)
            return EXIT_BAD_INPUT
        print(f"{args.file}: valid ({len(cfg.pipelines)} pipeline(s), config hash {cfg.config_hash()})")
        return EXIT_OK
    cfg = resolve_config(args.config)
    if args.config_command == "show":
        print_json(cfg.public_dict())
        return EXIT_OK
    data = json_schema() if args.schema else cfg.public_dict()
    if args.out:
        Path(args.out).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        print_json(data)
    return EXIT_OK
