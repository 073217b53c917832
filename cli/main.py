"""The `ledger` command line: parse, call the Ledger, render. Nothing else lives here."""

from __future__ import annotations

import functools
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from cli import (
    commands_audit,
    commands_change,
    commands_chart,
    commands_copy,
    commands_demo,
    commands_export,
    commands_import,
    commands_integrity,
    commands_read,
    commands_rebuild,
    commands_seasons,
)
from cli.common import be_quiet

USAGE = 2  # click's exit code for a command line it cannot parse
REJECTED = 1  # a command the ledger refused, a failed verification, a full disk


class OneLineErrors(TyperGroup):
    """Usage mistakes (a missing option, a bad value) get one line and click's exit code 2;
    a closed pipe ends the command quietly, and a full disk is one line and exit code 1."""

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
        _quiet_everywhere(self)
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
        except typer.Abort:
            typer.echo("error: aborted; nothing was written", err=True)
            sys.exit(REJECTED)
        except typer.TyperException as e:  # click's usage errors
            ctx = getattr(e, "ctx", None)
            if type(e).__name__ == "NoArgsIsHelpError" and ctx is not None:
                typer.echo(ctx.get_help())
                sys.exit(0)
            hint = f"; see {ctx.command_path} --help" if ctx is not None else ""
            text = e.format_message() if hasattr(e, "format_message") else str(e)
            text = " ".join(text.replace("Value error, ", "").splitlines()).rstrip(".")
            typer.echo(f"error: {text}{hint}", err=True)
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


def _quiet_everywhere(group: Any, option: Any = None) -> Any:
    """Give every command --quiet (-q), as the app has it, once."""
    for command in group.commands.values():
        if hasattr(command, "commands"):
            option = _quiet_everywhere(command, option)
        elif not any(p.name == "quiet" for p in command.params):
            option = option or _quiet_option()
            command.params.append(option)
    return option


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
    PREFERRED_SEASON.set(os.environ.get("LEDGER_SEASON", "").strip() or None)


app.add_typer(commands_import.app, name="import")
commands_read.register(app)
commands_seasons.register(app)
commands_demo.register(app)
commands_change.register(app)
commands_audit.register(app)
commands_copy.register(app)
commands_integrity.register(app)
commands_chart.register(app)
commands_rebuild.register(app)
app.add_typer(commands_export.app, name="export")


def run() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    run()
