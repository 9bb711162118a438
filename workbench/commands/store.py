"""The store's commands: import logs, export one, verify the witness chain, list the logs."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from workbench.commands.common import EXIT_FAIL, EXIT_OK, Handler, Subparsers, add_globals, print_json
from workbench.errors import BadInputError


def register(sub: Subparsers) -> dict[str, Handler]:
    imp = sub.add_parser(
        "import",
        help="import logs: routellm DIR | parquet FILE... | jsonl FILE... | obp FILE... (one transaction)",
        description="Import logs into the store. Everything named in one command lands, or (on any error) nothing.",
    )
    imp.add_argument("format", choices=["routellm", "parquet", "jsonl", "obp"], help="what the files are")
    imp.add_argument("paths", nargs="+", metavar="PATH", help="a RouteLLM-format directory, or the files")
    imp.add_argument("--name", metavar="NAME", help="log name (routellm: the name, or prefix for mmlu/mt-bench)")
    imp.add_argument("--keep-contaminated", action="store_true", help="routellm: keep the contaminated prompts")
    imp.add_argument("--json", action="store_true", help="one JSON object on stdout")
    add_globals(imp)

    exp = sub.add_parser("export-log", help="write one log to a Parquet, JSONL or OBP (.npz / .csv) file")
    exp.add_argument("log", help="the log's name (see `clawft-workbench logs`)")
    exp.add_argument("--out", required=True, metavar="FILE", help="the file to write")
    exp.add_argument(
        "--format", choices=["parquet", "jsonl", "obp"], help="default: from the file's suffix (.parquet, .jsonl, .npz)"
    )
    add_globals(exp)

    ver = sub.add_parser("verify", help="check the witness hash chain; exit 1 naming the first broken trajectory")
    ver.add_argument("--json", action="store_true")
    add_globals(ver)

    logs = sub.add_parser("logs", help="the logs in the store with their kinds and row counts")
    logs.add_argument("--json", action="store_true")
    add_globals(logs)
    return {"import": cmd_import, "export-log": cmd_export_log, "verify": cmd_verify, "logs": cmd_logs}


def _open(args: argparse.Namespace, *, read_only: bool) -> Any:
    """The store for a command. A reading command on a store that does not exist yet creates it (the default
    store is seeded from the sample logs then), since a read-only open of nothing would only fail."""
    from pathlib import Path

    from workbench.api import resolve_config, resolve_db
    from workbench.store import default_db_path, open_store

    config = resolve_config(getattr(args, "config", None))
    db = resolve_db(getattr(args, "db", None))
    if read_only and (db == ":memory:" or not Path(db or default_db_path()).expanduser().exists()):
        read_only = False
    return open_store(db, read_only=read_only, privacy=config.store.privacy, routing=config.routing)


def cmd_import(args: argparse.Namespace) -> int:
    if args.format == "routellm" and len(args.paths) != 1:
        raise BadInputError("import routellm: give one RouteLLM-format directory")
    with _open(args, read_only=False) as store:
        if store.read_only:
            raise BadInputError(f"import: {store.notice}; nothing was imported")
        if args.format == "routellm":
            reports = store.import_routellm(args.paths[0], args.name, keep_contaminated=args.keep_contaminated)
        else:
            reports = store.import_files(args.format, args.paths, args.name)
        path = store.path
    if args.json:
        print_json({"db": path, "imported": [r.to_dict() for r in reports]})
        return EXIT_OK
    for r in reports:
        print(f"imported {r.rows} rows into log {r.log!r} ({r.kind}) from {r.source}")
        if r.notes:
            print(f"  {r.notes}")
    print(f"-> {path}")
    return EXIT_OK


_SUFFIX_FORMATS = {".parquet": "parquet", ".jsonl": "jsonl", ".npz": "obp"}


def cmd_export_log(args: argparse.Namespace) -> int:
    from pathlib import Path

    fmt = args.format or _SUFFIX_FORMATS.get(Path(args.out).suffix)
    if fmt is None:
        raise BadInputError(
            f"export-log: cannot tell the format from {args.out!r}; pass --format parquet|jsonl|obp "
            "or use a .parquet, .jsonl or .npz file name"
        )
    with _open(args, read_only=True) as store:
        n = store.export_log(args.log, fmt, args.out)
    print(f"wrote {n} rows of log {args.log!r} to {args.out} ({fmt})", file=sys.stderr)
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    with _open(args, read_only=True) as store:
        report = store.verify()
        path = store.path
    if args.json:
        print_json({"db": path, **report.to_dict()})
    elif report.ok:
        print(f"ok: {report.checked} trajectories, witness chain intact (head {report.head_hash[:16]}...) in {path}")
    else:
        where = f"trajectory {report.broken_id} (position {report.broken_seq})" if report.broken_id else "the end"
        print(f"BROKEN at {where}: {report.reason}")
        print(f"{report.checked} trajectories verified before it in {path}", file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_FAIL


def cmd_logs(args: argparse.Namespace) -> int:
    with _open(args, read_only=True) as store:
        df = store.logs()
    if args.json:
        print_json(df.to_dicts())
        return EXIT_OK
    if df.height == 0:
        print("no logs yet")
        return EXIT_OK
    import polars as pl

    view = df.select("name", "kind", "rows", "trajectories", "prompts", "models", "cue_prompts", "source",
                     "created_at")
    with pl.Config(tbl_rows=-1, tbl_width_chars=160, fmt_str_lengths=48, tbl_hide_dataframe_shape=True):
        print(view)
    return EXIT_OK
