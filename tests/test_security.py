"""Security: planted keys never reach exception messages, TUI screenshots, tuned exports or stored replay runs; SQL
is only ever read from queries/*.sql and bound, never built in Python; the mock server binds loopback only.

tests/test_transport_keys.py covers the database, logs, config exports and provider-echoed errors of live sends;
this file covers the other ways out.
"""

from __future__ import annotations

import ast
import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from transport_support import PRIMARY

from workbench.api import Workbench
from workbench.cli import main
from workbench.config import parse_config
from workbench.errors import BadInputError, ConfigError
from workbench.sim.traffic import FULL_LOG
from workbench.transport.mock_server import MockServer
from workbench.tui.app import WorkbenchApp
from workbench.tui.screens.live import LiveScreen
from workbench.tui.screens.trajectories import TrajectoriesScreen

ROOT = Path(__file__).resolve().parents[1]
CONFIG_KEY = "sk-planted-cfg-7d1e0c9b8a7f6e5d4c3b"
ENV_KEY = "sk-planted-env-1a2b3c4d5e6f7a8b9c0d"
ENV_VAR = "WB_SECURITY_PLANTED_KEY"


def assert_no_key(text: str, where: str) -> None:
    for key in (CONFIG_KEY, ENV_KEY):
        assert key not in text, f"{where} holds a planted key"
        assert key[3:20] not in text, f"{where} holds part of a planted key"


def keyed_config(base_url: str = "http://127.0.0.1:9/v1", **transport: Any) -> dict[str, Any]:
    return {
        "transport": {"kind": "http", "retry": {"backoff_initial_s": 0.01, "backoff_cap_s": 0.02}, **transport},
        "providers": {"mock": {"base_url": base_url, "api_key": CONFIG_KEY},
                      "mockenv": {"base_url": base_url, "api_key_env": ENV_VAR}},
        "pipelines": {"default": {"router": "static",
                                  "preferred_models": ["mockenv/openai/gpt-4o-mini", PRIMARY]}},
    }


# -- exception messages ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("mistake", "words"), [
    # A key beside a real error elsewhere: the error is about the other field.
    ({"transport": {"deadline_s": -1}}, "transport.deadline_s"),
    # A key pasted into the field that names its environment variable.
    ({"providers": {"openai": {"api_key_env": CONFIG_KEY}}}, "providers.openai.api_key_env: api_key_env takes"),
    # A key in a header under a harmless-looking name.
    ({"providers": {"openai": {"headers": {"X-Custom": f"Bearer {CONFIG_KEY}"}}}}, "looks like a credential"),
    ({"providers": {"openai": {"headers": {"X-Custom": CONFIG_KEY}}}}, "looks like a credential"),
    ({"providers": {"openai": {"headers": {"Ocp-Apim-Subscription-Key": "abc123def456"}}}}, "looks like a credential"),
    # A key as the password of the base URL, which is exported and logged with the URL.
    ({"providers": {"openai": {"base_url": f"https://user:{CONFIG_KEY}@api.example.com/v1"}}}, "carries credentials"),
    ({"providers": {"openai": {"base_url": f"ftp://user:{CONFIG_KEY}@api.example.com/v1"}}}, "http://"),
    # The key itself of the wrong type.
    ({"providers": {"openai": {"api_key": [CONFIG_KEY]}}}, "providers.openai.api_key"),
    ({"routing": {"pattern": {"embeddings": {"kind": "endpoint", "base_url": "http://127.0.0.1:8/v1",
                                             "model": "m", "api_key_env": CONFIG_KEY}}}}, "api_key_env takes the NAME"),
])
def test_config_errors_name_the_field_but_never_echo_a_key(
    mistake: dict[str, Any], words: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = {**mistake, "providers": {**mistake.get("providers", {}), "anthropic": {"api_key": ENV_KEY}}}
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    assert words in str(info.value)
    assert_no_key(str(info.value), "the ConfigError")
    # The CLI prints the same problems: exit 2, no traceback, no key.
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    assert main(["config", "validate", str(path)]) == 2
    out = capsys.readouterr()
    assert "Traceback" not in out.err and words in out.out + out.err
    assert_no_key(out.out + out.err, "config validate's output")


def test_runtime_errors_of_a_keyed_workbench_carry_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, ENV_KEY)
    config = parse_config(keyed_config())  # port 9 (discard) on loopback: nothing listens, every attempt fails
    with Workbench(db=":memory:", config=config, seed=0) as wb:
        t = wb.send("tell me about queues")
        with pytest.raises(BadInputError) as info:
            wb.set_fault(PRIMARY, down=True)  # the http transport has no fault switches: a BadInputError
    assert t.response.status == "failed" and t.response.error
    for where, text in [("the response error", t.response.error or ""), ("attempt errors", json.dumps(
            [a.error for a in t.response.attempts])), ("a BadInputError", str(info.value))]:
        assert_no_key(text, where)


# -- TUI screenshots -------------------------------------------------------------------------------------------


def svg_text(svg: str) -> str:
    """The characters a screenshot shows, in order: tags dropped, entities and non-breaking spaces undone."""
    return html.unescape(re.sub(r"<[^>]+>", "", svg)).replace("\xa0", " ")


async def test_tui_screenshots_of_a_keyed_workbench_hold_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, ENV_KEY)
    with MockServer(seed=0) as srv:
        srv.set_fault("openai/gpt-4o-mini", error_rate=1.0, error_status=401, times=1)  # an error on screen too
        config = parse_config(keyed_config(srv.base_url))
        wb = Workbench(db=":memory:", config=config, seed=0, clock=lambda: 1_700_000_000.0)
        app = WorkbenchApp(wb, monotonic=lambda: 0.0)
        shots: dict[str, str] = {}
        async with app.run_test(size=(160, 50)) as pilot:
            await send(pilot, "tell me about queues")
            shots["live"] = app.export_screenshot()
            await send(pilot, "write a haiku about routers")
            await pilot.press("f4")
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, TrajectoriesScreen)
            stored = [wb.trajectory(str(i)) for i in wb.trajectories(10)["trajectory_id"]]
            failed_first = next(t for t in stored if t is not None and len(t.response.attempts) > 1)
            screen.load_detail(failed_first.trajectory_id)
            await settle(pilot)
            shots["trajectories"] = app.export_screenshot()
            await pilot.press("f5")
            await settle(pilot)
            shots["config"] = app.export_screenshot()
            await pilot.press("f2")
            await settle(pilot)
        assert srv.stats["authorized"] >= 2  # the keys really were in use
    # The screenshots hold the real screens: the answer's model, the failed attempt (whose request carried a key).
    assert "mock/openai/gpt-4o-mini" in svg_text(shots["live"]) and "http_401" in svg_text(shots["live"])
    assert "mockenv/openai/gpt-4o-mini" in svg_text(shots["trajectories"])  # the failed request's detail
    assert "mockenv" in svg_text(shots["config"]) or "default" in svg_text(shots["config"])
    for name, svg in shots.items():
        assert_no_key(svg, f"the {name} screenshot")
        assert_no_key(svg_text(svg), f"the {name} screenshot's text")


async def send(pilot: Pilot[Any], text: str) -> None:
    screen = pilot.app.screen
    assert isinstance(screen, LiveScreen)
    screen.prompt.value = text
    await pilot.press("escape", "enter")
    await settle(pilot)


async def settle(pilot: Pilot[Any]) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


# -- tuned exports and stored replay runs ----------------------------------------------------------------------


def test_tuned_and_exported_configs_and_stored_runs_carry_no_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_VAR, ENV_KEY)
    spec = tmp_path / "keyed.json"
    # A simulated pipeline whose config also names keyed providers: replay reads it, and exports must drop the key.
    keyed = keyed_config()
    keyed["transport"] = {"kind": "simulated"}
    keyed["pipelines"] = {"default": {"classifier": "complexity", "router": "tier"}}
    spec.write_text(json.dumps(keyed))
    db = tmp_path / "runs.duckdb"
    with Workbench(db=db, config=spec, seed=0) as wb:
        tuned = wb.tune(FULL_LOG, str(spec), "max-quality:cost<=0.001", out=tmp_path / "tuned.json", candidates=2,
                        executor="inline")
        wb.export(FULL_LOG, str(spec), tmp_path / "exported.json")
        wb.compare(FULL_LOG, [str(spec), "random"])
    assert tuned.out is not None
    for name in ("tuned.json", "exported.json"):
        data = json.loads((tmp_path / name).read_text())
        assert "provenance" in data and data["providers"]["mock"]["base_url"]  # a real export of this config
        assert "api_key" not in data["providers"]["mock"]
        assert_no_key((tmp_path / name).read_text(), name)
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("runs.duckdb"))
    assert b"mockenv" in stored  # the runs' configs are in the file we grep
    assert_no_key(stored.decode("latin-1"), "the stored replay runs")


# -- SQL is read from queries/*.sql and bound, never built -----------------------------------------------------

SQL_CALLS = frozenset({"execute", "executemany", "sql", "query", "raw_sql"})
SQL_TEXT = re.compile(
    r"(?is)\bselect\b.+\bfrom\b|\binsert\s+into\b|\bupdate\s+\w+\s+set\b|\bdelete\s+from\b|\bwhere\b.+=|"
    r"\b(create|drop|alter)\s+(or\s+replace\s+)?(table|view|index|schema|sequence|macro)\b|\bpragma\b|"
    r"\battach\b.+\bas\b|\bcopy\b.+\bto\b"
)


def _literal_parts(node: ast.expr) -> str:
    """The literal text of a string-building expression (f-string parts, format/percent templates, + operands)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_literal_parts(v) for v in node.values if isinstance(v, ast.Constant))
    if isinstance(node, ast.BinOp):
        return _literal_parts(node.left) + " " + _literal_parts(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return _literal_parts(node.func.value)
    return ""


def _built(node: ast.expr) -> bool:
    """Whether `node` builds a string at run time (an f-string with fields, .format(), %, or + on strings)."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return True
    return isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add) and bool(_literal_parts(node))


def sql_problems(source: str, filename: str) -> list[str]:
    """Places where SQL text is built in Python, or where a SQL call runs text that is not a named query."""
    tree = ast.parse(source, filename)
    problems = []
    assigned: dict[str, list[ast.expr]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assigned.setdefault(target.id, []).append(node.value)
    for node in ast.walk(tree):
        where = f"{filename}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.expr) and _built(node) and SQL_TEXT.search(_literal_parts(node)):
            problems.append(f"{where}: SQL text built in Python")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SQL_CALLS:
            if not node.args:
                continue
            arg = node.args[0]
            sources = assigned.get(arg.id, []) if isinstance(arg, ast.Name) else [arg]
            for value in sources:
                if _built(value):
                    problems.append(f"{where}: .{node.func.attr}() runs text built in Python")
                elif isinstance(value, ast.Constant) and isinstance(value.value, str) and SQL_TEXT.search(value.value):
                    problems.append(f"{where}: .{node.func.attr}() runs inline SQL; put it in queries/*.sql")
    return problems


def test_the_sql_scanner_finds_built_sql() -> None:
    """The scanner below can fail: each of these is caught."""
    bad = {
        'cur.execute(f"SELECT * FROM trajectories WHERE id = \'{tid}\'")': "built",
        'cur.sql("SELECT * FROM t WHERE log = \'%s\'" % log)': "built",
        'q = "DELETE FROM t WHERE id = {}".format(i)\ncur.execute(q)': "built",
        'con.execute("SELECT 1 FROM logs")': "inline SQL",
        'sql = "INSERT INTO t VALUES (" + x + ")"': "built",
    }
    for source, words in bad.items():
        problems = sql_problems(source, "x.py")
        assert problems and any(words in p for p in problems), (source, problems)
    fine = 'cur.execute(load_query("get_trajectory"), {"id": tid})\nstore.query("recent_trajectories", limit=5)'
    assert sql_problems(fine, "x.py") == []


def test_sql_is_never_built_with_fstrings_format_or_percent() -> None:
    files = sorted((ROOT / "workbench").rglob("*.py"))
    assert len(files) > 50
    problems = [p for f in files for p in sql_problems(f.read_text(encoding="utf-8"), str(f.relative_to(ROOT)))]
    assert problems == [], "\n".join(problems)


# -- the mock server binds loopback only -----------------------------------------------------------------------


def test_the_mock_server_binds_loopback_by_default_and_refuses_anything_else() -> None:
    with MockServer() as srv:
        assert srv.host == "127.0.0.1" and srv.httpd.socket.getsockname()[0] == "127.0.0.1"
    for host in ("0.0.0.0", "", "::", "10.0.0.1", "example.com", "127.0.0.1.nip.io"):
        with pytest.raises(BadInputError, match="not a loopback address"):
            MockServer(host)
    for host in ("localhost", "127.0.0.2"):
        with MockServer(host) as srv:
            assert srv.host.startswith("127.")


def test_the_mock_server_command_refuses_a_public_address(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mock-server", "--host", "0.0.0.0", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "not a loopback address" in err and "Traceback" not in err
