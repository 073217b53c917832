"""The README and docs/*.md show what the ledger does, and they are run to prove it.

Every fenced block marked ```` ```console ```` is a shell session: a line starting ``$ `` is
a command (a trailing ``\\`` continues it on the next line), and the lines after it, up to the
next command, are what it prints, stdout and stderr as a terminal shows them. A line ``...``
stands for any number of lines. Each page's sessions run in order, in one shell, in a fresh
folder (so with a fresh ledger) where ``ledger/data`` is the bundled seasons, on a terminal
100 columns wide, in UTC; and the output must be what the page shows, hashes included. A
block marked ```` ```console postgres ```` runs only when ``LEDGER_TEST_POSTGRES`` names a
server, with ``postgresql://postgres@127.0.0.1:5432/results`` standing for a throwaway
database of it.

``LEDGER_BY`` is set to a value that changes every run, so a page whose hashes depend on who
recorded (a command without ``--by``) or on when (without ``--recorded-at``) cannot pass.

Every ``ledger ...`` mentioned anywhere on the pages (in code spans and blocks) must name a
command that exists, with options it has.

To see what a page's commands print now: ``python tests/test_docs.py docs/corrections.md``.
"""

from __future__ import annotations

import errno
import os
import pty
import re
import select
import shlex
import struct
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(console[^\n]*)\n(.*?)^```$", re.DOTALL | re.MULTILINE)
ELISION = "..."
PG_PLACEHOLDER = "postgresql://postgres@127.0.0.1:5432/results"
WIDTH = 100


@dataclass
class Step:
    """One command of a session and what the page says it prints."""

    line: int  # where the command is on the page
    command: str
    expected: list[str]
    postgres: bool


def steps(page: Path) -> list[Step]:
    """The commands of a page's sessions, in order."""
    text = page.read_text(encoding="utf-8")
    found: list[Step] = []
    for block in FENCE.finditer(text):
        first = text.count("\n", 0, block.start(2)) + 1
        postgres = "postgres" in block.group(1).split()
        lines = block.group(2).splitlines()
        index = 0
        while index < len(lines):
            if not lines[index].startswith("$ "):
                raise AssertionError(
                    f"{page.name}, line {first + index}: a session's output has no command"
                )
            start = index
            command = lines[index][2:]
            while command.endswith("\\") and index + 1 < len(lines):
                index += 1
                command += "\n" + lines[index]  # the shell reads the line break as a space
            index += 1
            output = []
            while index < len(lines) and not lines[index].startswith("$ "):
                output.append(lines[index])
                index += 1
            found.append(Step(first + start, command, output, postgres))
    return found


def matches(expected: list[str], actual: list[str]) -> bool:
    """Whether the output is what the page shows, a line ``...`` standing for any lines."""
    if not expected:
        return not actual
    if expected[0].strip() == ELISION:
        return any(matches(expected[1:], actual[skip:]) for skip in range(len(actual) + 1))
    return bool(actual) and expected[0].rstrip() == actual[0] and matches(expected[1:], actual[1:])


def _environment(folder: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LEDGER_") and k not in ("COLUMNS", "LINES", "NO_COLOR")
    }
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        HOME=str(folder),
        TERM="dumb",  # a terminal, but no colours and no progress bars
        TZ="UTC",
        LC_ALL="C.UTF-8",
        PYTHONIOENCODING="utf-8",
        LEDGER_BY=f"unstable-{uuid.uuid4().hex[:8]}",
    )
    return env


def run_session(page_steps: list[Step], folder: Path, replace: dict[str, str]) -> list[str]:
    """Run the commands in one shell on a terminal; what each printed."""
    (folder / "ledger").mkdir(parents=True)
    (folder / "ledger" / "data").symlink_to(ROOT / "ledger" / "data")
    marker = f"--docs-step-{uuid.uuid4().hex}--"
    script = "".join(
        f"printf '%s\\n' '{marker}'\n{_substitute(step.command, replace)}\n" for step in page_steps
    )
    (folder / "session.sh").write_text(script + f"printf '%s\\n' '{marker}'\n", encoding="utf-8")
    master, slave = pty.openpty()
    import fcntl
    import termios

    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, WIDTH, 0, 0))
    shell = subprocess.Popen(
        ["bash", "--noprofile", "--norc", "session.sh"],
        cwd=folder,
        env=_environment(folder),
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    chunks: list[bytes] = []
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 300)
            if not ready:
                shell.kill()
                raise AssertionError("the session took more than 5 minutes")
            try:
                data = os.read(master, 65536)
            except OSError as e:  # the shell has exited and the terminal closed
                if e.errno != errno.EIO:
                    raise
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
        shell.wait(timeout=60)
    text = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n").replace("\r", "")
    parts = text.split(marker + "\n")
    assert len(parts) == len(page_steps) + 2, text[-2000:]
    return parts[1:-1]


def _substitute(text: str, replace: dict[str, str]) -> str:
    for old, new in replace.items():
        text = text.replace(old, new)
    return text


def printed(output: str) -> list[str]:
    """Output lines as compared: no line ends with spaces, no blank lines at the end."""
    lines = [line.rstrip() for line in output.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def session_pages() -> list[Path]:
    return [page for page in PAGES if steps(page)]


def _postgres_url() -> Iterator[str | None]:
    server = os.environ.get("LEDGER_TEST_POSTGRES", "")
    if not server:
        yield None
        return
    import psycopg

    name = f"ledger_docs_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server.rpartition('/')[0]}/{name}"
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def check_page(page: Path, folder: Path) -> list[str]:
    """Run a page's sessions; the differences between what it shows and what ran."""
    found = steps(page)
    urls = _postgres_url()
    url = next(urls)
    try:
        chosen = [s for s in found if url is not None or not s.postgres]
        replace = {PG_PLACEHOLDER: url} if url else {}
        outputs = run_session(chosen, folder, replace)
    finally:
        urls.close()
    problems = []
    for step, output in zip(chosen, outputs, strict=True):
        expected = [_substitute(line, replace) for line in step.expected]
        actual = printed(output)
        if not matches(printed("\n".join(expected)), actual):
            problems.append(
                f"{page.name}, line {step.line}: $ {step.command}\n"
                "--- the page shows\n"
                + "\n".join(expected)
                + "\n--- it printed\n"
                + "\n".join(actual)
            )
    return problems


@pytest.mark.parametrize("page", session_pages(), ids=lambda p: p.name)
def test_the_page_prints_what_it_shows(page: Path, tmp_path: Path) -> None:
    problems = check_page(page, tmp_path)
    assert not problems, "\n\n".join(problems)


def test_the_readme_and_the_docs_have_sessions_to_run() -> None:
    pages = {page.name for page in session_pages()}
    assert {"README.md", "corrections.md", "integrity.md", "json.md"} <= pages
    assert sum(len(steps(page)) for page in PAGES) >= 40


def test_a_page_that_shows_the_wrong_output_fails(tmp_path: Path) -> None:
    page = tmp_path / "wrong.md"
    page.write_text(
        "```console\n$ ledger --version\nledger 0.0\n$ echo two\n...\nthree\n```\n",
        encoding="utf-8",
    )
    problems = check_page(page, tmp_path / "run")
    assert len(problems) == 2
    assert "--- it printed\nledger (results-ledger) " in problems[0]
    assert problems[1].endswith("--- it printed\ntwo")


def test_an_elision_stands_for_any_lines_and_only_those() -> None:
    assert matches(["a", "...", "d"], ["a", "b", "c", "d"])
    assert matches(["a", "...", "b"], ["a", "b"])
    assert not matches(["a", "...", "d"], ["a", "b", "c"])
    assert not matches(["a"], ["a", "b"])


# --- every command mentioned exists ------------------------------------------------------------

MENTION = re.compile(r"(?:^|[`\s($])ledger((?: +[^\s`]+)+?)(?=`|$|\n)", re.MULTILINE)
CODE = re.compile(r"```[^\n]*\n(.*?)^```$|`([^`\n]+)`", re.DOTALL | re.MULTILINE)


def mentions(page: Path) -> Iterator[tuple[int, str]]:
    """Every ``ledger ...`` command line in a page's code (spans and blocks)."""
    text = page.read_text(encoding="utf-8")
    for code in CODE.finditer(text):
        body = code.group(1) if code.group(1) is not None else code.group(2)
        base = text.count("\n", 0, code.start())
        joined = body.replace("\\\n", " ")
        for number, line in enumerate(joined.splitlines()):
            words = line.strip().removeprefix("$ ").split()
            if words[:1] == ["ledger"] and not line.strip().startswith("ledger/"):
                yield base + number + 1, line.strip().removeprefix("$ ")


def _tree() -> Any:
    import typer

    from cli.main import app

    return typer.main.get_command(app)


def unknown(line: str, root: Any) -> list[str]:
    """What a command line names that the command line does not have."""
    try:
        words = shlex.split(line.split("#", 1)[0].split(" | ")[0])
    except ValueError:
        words = line.split()
    command = root
    path = ["ledger"]
    rest = words[1:]
    while rest and hasattr(command, "commands"):
        names = [n for n in re.split(r"[|]", rest[0]) if n]
        if not names or not all(n in command.commands for n in names):
            break
        path.append(rest[0])
        command = command.commands[names[0]]
        rest = rest[1:]
    if hasattr(command, "commands") and rest and not rest[0].startswith("-"):
        if rest[0].isupper() or rest[0] in ("CMD", "..."):
            return []
        return [f"{' '.join(path)} has no command {rest[0]!r}"]
    options = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
    options |= {"--help", "-h", "--quiet", "-q"}
    if command is root:
        options |= {"--install-completion", "--show-completion", "--version", "-V"}
    wrong = []
    for word in rest:
        for option in re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", word):
            leads = word.startswith(option) or word.startswith("[" + option)
            if leads and option not in options:
                wrong.append(f"{' '.join(path)} has no option {option}")
    return wrong


def test_every_command_the_pages_mention_exists_with_its_options() -> None:
    root = _tree()
    problems = [
        f"{page.relative_to(ROOT)}, line {number}: {problem}"
        for page in PAGES
        for number, line in mentions(page)
        for problem in unknown(line, root)
    ]
    assert not problems, "\n".join(problems)


def test_the_mention_check_sees_a_missing_option_and_command() -> None:
    root = _tree()
    assert unknown("ledger standings men-500m --as-off 2014-03-09", root) == [
        "ledger standings has no option --as-off"
    ]
    assert unknown("ledger frobnicate", root) == ["ledger has no command 'frobnicate'"]
    assert unknown("ledger export results|standings --format csv", root) == []


def rewritten(page: Path, outputs: dict[int, list[str]]) -> str:
    """The page with each session's output as printed now (``outputs`` by command line); an
    output the page elides keeps its first and last lines as many as it shows."""
    lines = page.read_text(encoding="utf-8").split("\n")
    by_line = {step.line: step for step in steps(page)}
    done: list[str] = []
    index = 0
    while index < len(lines):
        number = index + 1
        if number not in by_line or number not in outputs:
            done.append(lines[index])
            index += 1
            continue
        step = by_line[number]
        size = step.command.count("\n") + 1
        done += lines[index : index + size]
        index += size + len(step.expected)
        actual = outputs[number]
        shown = step.expected
        if ELISION in [line.strip() for line in shown]:
            cut = [line.strip() for line in shown].index(ELISION)
            tail = len(shown) - 1 - [line.strip() for line in shown][::-1].index(ELISION)
            head_n, tail_n = cut, len(shown) - tail - 1
            if head_n + tail_n < len(actual):
                actual = [*actual[:head_n], shown[cut], *actual[len(actual) - tail_n :]]
        done += actual
    return "\n".join(done)


if __name__ == "__main__":  # python tests/test_docs.py [--write] PAGE...: what the pages print
    import tempfile

    write = "--write" in sys.argv
    for name in [a for a in sys.argv[1:] if a != "--write"]:
        chosen_page = Path(name).resolve()
        with tempfile.TemporaryDirectory() as scratch:
            page_steps = [s for s in steps(chosen_page) if not s.postgres]
            outputs = run_session(page_steps, Path(scratch), {})
            if write:
                fresh = {s.line: printed(o) for s, o in zip(page_steps, outputs, strict=True)}
                chosen_page.write_text(rewritten(chosen_page, fresh), encoding="utf-8")
                continue
            for step, out in zip(page_steps, outputs, strict=True):
                print(f"$ {step.command}")
                print("\n".join(printed(out)))
