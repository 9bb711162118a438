"""One exception hierarchy. Messages say what went wrong, where, and how to fix it."""

from __future__ import annotations


class WorkbenchError(Exception):
    """Base of every error the workbench raises on purpose. The CLI prints these without a traceback."""

    exit_code = 1


class BadInputError(WorkbenchError):
    """Input the user can fix (a config, a file, an argument): exit code 2."""

    exit_code = 2


class ConfigError(BadInputError):
    """A config that does not validate. `problems` holds one `path: reason` line per fault."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"invalid config {source}:\n{lines}")


class TransportError(WorkbenchError):
    """A request that could not be served by any deployment in its chain."""


class MissingKeyError(BadInputError):
    def __init__(self, provider: str, env_var: str) -> None:
        self.provider = provider
        self.env_var = env_var
        super().__init__(
            f"no API key for provider '{provider}': set the environment variable {env_var} "
            f"or `providers.{provider}.api_key` in the config"
        )


class StoreError(WorkbenchError):
    """The trajectory store could not be opened or written."""
