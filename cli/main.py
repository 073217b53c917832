"""The `ledger` command line: parse, call the Ledger, render. Nothing else lives here."""

from __future__ import annotations

import functools
import gc
import importlib
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from cli.common import be_quiet, use_key

# Where each command lives. A command's module is imported only when the command runs (or
# when help lists them all), so `ledger standings` does not pay for the chart's or the demo's
# imports. A new command goes into its module's `register` and gets a line here.
COMMANDS = {
    "standings": "cli.commands_read",
    "results": "cli.commands_read",
    "races": "cli.commands_read",
    "seasons": "cli.commands_seasons",
    "cups": "cli.commands_seasons",
    "competitors": "cli.commands_seasons",
    "competitor": "cli.commands_seasons",
    "demo": "cli.commands_demo",
    "record": "cli.commands_change",
    "correct": "cli.commands_change",
    "disqualify": "cli.commands_change",
    "reinstate": "cli.commands_change",
    "withdraw": "cli.commands_change",
    "void": "cli.commands_change",
    "unvoid": "cli.commands_change",
    "schedule": "cli.commands_change",
    "reschedule": "cli.commands_change",
    "retable": "cli.commands_change",
    "rename": "cli.commands_change",
    "exclude": "cli.commands_change",
    "readmit": "cli.commands_change",
    "deduct": "cli.commands_change",
    "revert": "cli.commands_change",
    "history": "cli.commands_audit",
    "diff": "cli.commands_audit",
    "explain": "cli.commands_audit",
    "check": "cli.commands_audit",
    "copy": "cli.commands_copy",
    "verify": "cli.commands_integrity",
    "init": "cli.commands_integrity",
    "chart": "cli.commands_chart",
    "rebuild": "cli.commands_rebuild",
    "import": "cli.commands_import",
    "export": "cli.commands_export",
    "serve": "cli.commands_serve",
    "grant": "cli.commands_trust",
    "keys": "cli.commands_trust",
}


def _module_commands(module_name: str) -> dict[str, Any]:
    """The click commands a command module defines: a group of its own (``app``, as
    `import` and `export` are) or the commands its ``register`` mounts."""
    module = importlib.import_module(module_name)
    if hasattr(module, "register"):
        mounted = typer.Typer(rich_markup_mode=None)
        module.register(mounted)
        found = dict(typer.main.get_group(mounted).commands)
    else:
        (name,) = [n for n, m in COMMANDS.items() if m == module_name]
        group = typer.main.get_command(module.app)
        group.name = name
        found = {name: group}
    for command in found.values():
        _plain_help(command)
    return found


def _plain_help(command: Any) -> None:
    """Help as plain text, as the app's own (``rich_markup_mode=None``), in groups too."""
    command.rich_markup_mode = None
    for sub in getattr(command, "commands", {}).values():
        _plain_help(sub)


class LazyCommands(dict[str, Any]):
    """The app's commands, each module imported on first use (see ``COMMANDS``)."""

    def _load(self, module_name: str) -> None:
        for name, command in _module_commands(module_name).items():
            if COMMANDS.get(name) != module_name:
                raise RuntimeError(f"{module_name} defines {name!r}; add it to cli.main.COMMANDS")
            _quiet_everywhere_in(command)
            _key_for_writers_in(command)
            dict.__setitem__(self, name, command)

    def _load_all(self) -> None:
        for module_name in dict.fromkeys(COMMANDS.values()):
            if not all(dict.__contains__(self, n) for n, m in COMMANDS.items() if m == module_name):
                self._load(module_name)

    def __missing__(self, name: str) -> Any:
        if name not in COMMANDS:
            raise KeyError(name)
        self._load(COMMANDS[name])
        return dict.__getitem__(self, name)

    def get(self, name: str, default: Any = None) -> Any:
        """One command, its module imported if need be."""
        try:
            return self[name]
        except KeyError:
            return default

    def __contains__(self, name: object) -> bool:
        return name in COMMANDS or dict.__contains__(self, name)

    def __iter__(self) -> Iterator[str]:
        self._load_all()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self._load_all()
        return dict.__len__(self)

    def keys(self) -> Any:
        """Every command's name (every module imported)."""
        self._load_all()
        return dict.keys(self)

    def values(self) -> Any:
        """Every command (every module imported)."""
        self._load_all()
        return dict.values(self)

    def items(self) -> Any:
        """Every (name, command) (every module imported)."""
        self._load_all()
        return dict.items(self)


USAGE = 2  # click's exit code for a command line it cannot parse
REJECTED = 1  # a command the ledger refused, a failed verification, a full disk


class OneLineErrors(TyperGroup):
    """Usage mistakes (a missing option, a bad value) get one line and click's exit code 2;
    a closed pipe ends the command quietly, and a full disk is one line and exit code 1.
    Its commands are loaded as they are asked for (``LazyCommands``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        lazy = LazyCommands()
        for name, command in self.commands.items():
            dict.__setitem__(lazy, name, command)
        self.commands = lazy

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command line, translating usage errors and output failures."""
        run = functools.partial(
            super().main,
            args,
            prog_name,
            complete_var,
            windows_expand_args=windows_expand_args,
            **extra,
        )
        if not standalone_mode:
            return run(standalone_mode=False)
        try:
            code = run(standalone_mode=False)
            sys.stdout.flush()
        except BrokenPipeError:
            _stdout_closed()
        except OSError as e:
            if e.filename is not None:
                raise
            _output_failed(e)
        except typer.Abort:  # Ctrl-C outside a command's own error handling
            from cli.common import interrupted

            typer.echo(f"error: {interrupted()}", err=True)
            sys.exit(REJECTED)
        except typer.TyperException as e:  # click's usage errors
            ctx = getattr(e, "ctx", None)
            if type(e).__name__ == "NoArgsIsHelpError" and ctx is not None:
                typer.echo(ctx.get_help())
                sys.exit(0)
            hint = f"; see {ctx.command_path} --help" if ctx is not None else ""
            text = e.format_message() if hasattr(e, "format_message") else str(e)
            text = " ".join(text.replace("Value error, ", "").splitlines()).rstrip(".")
            from ledger.store import redact_text

            typer.echo(f"error: {redact_text(text)}{hint}", err=True)
            sys.exit(getattr(e, "exit_code", USAGE) or USAGE)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: Any) -> Any:
        """Run the command; a closed pipe or a full disk is caught here, before click's own
        handling (which exits 1 on a closed pipe) sees it."""
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()
        except BrokenPipeError:
            _stdout_closed()
        except OSError as e:
            if e.filename is not None:  # not our output: a file the command read or wrote
                raise
            _output_failed(e)
        return result


def _stdout_closed() -> None:
    """The reader of our output went away (``| head -1``): that is not an error."""
    import os

    # Python flushes stdout again at exit; point it at nothing so that flush cannot fail.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(0)


def _output_failed(error: OSError) -> None:
    """Writing the output failed (a full disk): one line, exit 1, never a traceback."""
    import errno
    import os

    reason = "no space left on device" if error.errno == errno.ENOSPC else error.strerror
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
    typer.echo(f"error: cannot write the output: {reason or error}", err=True)
    sys.exit(REJECTED)


_QUIET: list[Any] = []  # the one --quiet option, made once


def _quiet_everywhere_in(command: Any) -> None:
    """Give a command (and each command of a group) --quiet (-q), as the app has it."""
    if hasattr(command, "commands"):
        for sub in command.commands.values():
            _quiet_everywhere_in(sub)
    elif not any(p.name == "quiet" for p in command.params):
        if not _QUIET:
            _QUIET.append(_quiet_option())
        command.params.append(_QUIET[0])


def _quiet_option() -> Any:
    """The --quiet option, made by typer as for any command, setting the flag when parsed."""
    donor = typer.Typer(add_completion=False)

    @donor.command()
    def _donor(
        quiet: Annotated[
            bool,
            typer.Option(
                "--quiet",
                "-q",
                help="Print only the answer and errors: no progress bars, no notes.",
                callback=_set_quiet,
                is_eager=True,
            ),
        ] = False,
    ) -> None:
        """Lend its option."""

    (option,) = [p for p in typer.main.get_command(donor).params if p.name == "quiet"]
    option.expose_value = False  # read by its callback; the commands never see it
    return option


_KEY: list[Any] = []  # the one --key option, made once


def _key_for_writers_in(command: Any) -> None:
    """Give every command that writes (those that take --by) --key, to sign what it writes."""
    if hasattr(command, "commands"):
        for sub in command.commands.values():
            _key_for_writers_in(sub)
    elif any(p.name == "by" for p in command.params) and not any(
        p.name == "key" for p in command.params
    ):
        if not _KEY:
            _KEY.append(_key_option())
        command.params.append(_KEY[0])


def _key_option() -> Any:
    """The --key option (or $LEDGER_KEY): the private key that signs the command's events."""

    donor = typer.Typer(add_completion=False)

    @donor.command()
    def _donor(
        key: Annotated[
            Path | None,
            typer.Option(
                "--key",
                envvar="LEDGER_KEY",
                show_envvar=True,
                help="Sign the events with this private key (`ledger keys new`).",
                callback=use_key,
            ),
        ] = None,
    ) -> None:
        """Lend its option."""

    (option,) = [p for p in typer.main.get_command(donor).params if p.name == "key"]
    option.expose_value = False  # read by its callback; the commands never see it
    return option


def _set_quiet(value: bool) -> None:
    if value:
        be_quiet()


app = typer.Typer(
    cls=OneLineErrors,
    name="ledger",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(show: bool) -> None:
    if show:
        from importlib.metadata import version  # tens of ms: only when asked

        typer.echo(f"ledger (results-ledger) {version('results-ledger')}")
        raise typer.Exit()


@app.callback()
def main(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="Print only the answer and errors: no progress bars, no notes."
        ),
    ] = False,
) -> None:
    """An event-sourced, auditable ledger of sports results and points-table standings.

    Exit codes: 0 done, 1 refused (nothing was written) or failed, 2 a command line that
    cannot be parsed.

    Example: ledger standings men-500m --as-of 2014-03-09
    """
    import os

    from ledger.reader import PREFERRED_SEASON

    be_quiet(quiet)
    use_key(None)  # a command that takes --key sets it again as it is parsed
    PREFERRED_SEASON.set(os.environ.get("LEDGER_SEASON", "").strip() or None)


def run() -> None:
    """Console-script entry point: one command in a fresh process."""
    # What the imports made lives as long as the process: the cyclic collector need not walk
    # it again at each full collection. A command allocates in bursts that reference counting
    # frees (a chunk of seasons, a file's rows): the youngest objects are collected every
    # 20,000 allocations, not every 700 (a tenth of `seasons`' time on a large ledger).
    gc.freeze()
    gc.set_threshold(20_000, 10, 10)
    app()


if __name__ == "__main__":
    run()
