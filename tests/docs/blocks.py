"""The code blocks of README.md and docs/: found, classified and checked.

A block is checked by its language: ``python`` runs (page by page, in order, in one
namespace, top-level ``await`` allowed), ``bash`` lines are checked command by command
(every ``gello`` line parses against the real command line), ``yaml``/``json``/``toml``/
``ini`` parse (and a ``gello`` command inside them parses too). A block made only of
``--8<-- "examples/..."`` lines is included from an example file that its own test runs.
A block that cannot run alone says so on the line before its fence:
``<!-- docs-test: not-run: why -->`` (a ``python`` one is still compiled).
"""

from __future__ import annotations

import ast
import configparser
import json
import re
import shlex
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
import yaml

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
NOT_RUN = re.compile(r"<!--\s*docs-test:\s*not-run:\s*(?P<why>.+?)\s*-->")
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w+-]*)(?P<attrs>[^`]*)$")
INCLUDE = re.compile(r'^--8<--\s+"(?P<path>[^"]+)"$')
# The examples whose files tests/docs/test_quickstart.py and test_report_example.py run
# end to end.
EXECUTED_EXAMPLES = (ROOT / "examples" / "quickstart", ROOT / "examples" / "report")


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    lang: str
    text: str
    not_run: str | None

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def includes(self) -> list[str]:
        lines = [line.strip() for line in self.text.splitlines() if line.strip()]
        found = [INCLUDE.match(line) for line in lines]
        return [m["path"] for m in found if m] if lines and all(found) else []


def blocks(page: Path) -> Iterator[Block]:
    """Every fenced block of ``page``, with the not-run marker just above it, if any."""
    lines = page.read_text().splitlines()
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        indent = len(opening["indent"])
        body: list[str] = []
        j = i + 1
        while j < len(lines) and lines[j].strip() != "```":
            body.append(lines[j][indent:])
            j += 1
        above = next((lines[k] for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        marker = NOT_RUN.search(above)
        yield Block(page, i + 1, opening["lang"], "\n".join(body), marker and marker["why"])
        i = j + 1


def all_blocks() -> list[Block]:
    return [block for page in PAGES for block in blocks(page)]


def compile_python(block: Block) -> None:
    ast.parse(block.text, block.where, feature_version=(3, 11))
    compile(block.text, block.where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


# -- shell -------------------------------------------------------------------------------
def _cli() -> Any:
    from gello_cli.app import app

    return typer.main.get_group(app)


def check_gello(args: list[str], where: str) -> None:
    """``args`` (after ``gello``) parse against the real command line."""
    group = _cli()
    first = next((i for i, word in enumerate(args) if not word.startswith("-")), len(args))
    options = set(args[:first])
    if options & {"--version", "--help"}:
        return
    assert not options, f"{where}: gello has no options {options} before its command"
    if first == len(args):
        return
    ctx = group.context_class(group, info_name="gello")
    command = group.get_command(ctx, args[first])
    assert command is not None, f"{where}: gello has no command {args[first]}"
    try:
        with command.make_context(args[first], args[first + 1 :], parent=ctx):
            pass
    except typer.Exit:
        return  # --help
    except Exception as exc:  # the command line's usage errors (Typer vendors click)
        if not hasattr(exc, "format_message"):
            raise
        raise AssertionError(f"{where}: gello {shlex.join(args)}: {exc.format_message()}") from None


def _known_settings() -> set[str]:
    from gello_queue import Settings

    return {str(f.validation_alias) for f in Settings.model_fields.values()}


def _extras() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return set(project["optional-dependencies"])


def check_shell(block: Block) -> None:
    """Each command of a bash block is one gello knows how to check, and checks out."""
    text = block.text.replace("\\\n", " ")
    settings = _known_settings()
    for number, line in enumerate(text.splitlines(), start=block.line + 1):
        where = f"{block.where} (line {number})"
        for words in _commands(line):
            while words and re.fullmatch(r"[A-Z][A-Z0-9_]*=.*", words[0]):
                name = words.pop(0).split("=", 1)[0]
                assert name in settings, f"{where}: {name} is not a gello setting"
            if words:
                _check_command(words, where)


def _commands(line: str) -> Iterator[list[str]]:
    """The commands of a shell line, split at ``&&``, ``||``, ``;`` and ``|``."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    words: list[str] = []
    for token in lexer:
        if token in ("&&", "||", ";", "|"):
            yield words
            words = []
        else:
            words.append(token)
    yield words


def _check_command(words: list[str], where: str) -> None:
    program, args = Path(words[0]).name, words[1:]
    if program == "export":
        unknown = {a.split("=", 1)[0] for a in args} - _known_settings()
        assert not unknown, f"{where}: {unknown} are not gello settings"
    elif program == "gello":
        check_gello(args, where)
    elif program in ("pip", "pip3"):
        assert args[:1] == ["install"], f"{where}: only pip install is expected"
        for extra in re.findall(r"gello\[([\w,-]+)\]", " ".join(args)):
            unknown = set(extra.split(",")) - _extras()
            assert not unknown, f"{where}: gello has no extra {unknown}"
    elif program in ("python", "python3"):
        if args[:1] != ["-m"]:
            assert (ROOT / args[0]).is_file(), f"{where}: no file {args[0]}"
    elif program in ("bash", "cd", "cp", "source"):
        target = args[0]
        if program != "source":
            assert (ROOT / target).exists(), f"{where}: no {target} in the repository"
    elif program == "mkdocs":
        assert args[:1] in (["build"], ["serve"]), f"{where}: mkdocs {args}"
    else:
        raise AssertionError(
            f"{where}: no check for {program!r}: check it here, or mark the block"
            " <!-- docs-test: not-run: why -->"
        )


# -- configuration files -----------------------------------------------------------------
def check_config(block: Block) -> None:
    if block.includes:
        return  # an example file, checked by running the example
    if block.lang == "json":
        json.loads(block.text)
    elif block.lang == "toml":
        tomllib.loads(block.text)
    elif block.lang == "yaml":
        for document in yaml.safe_load_all(block.text):
            for args in _gello_lists(document):
                check_gello(args[1:], block.where)
    elif block.lang == "ini":
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read_string(block.text)
        for section in parser.sections():
            for key, value in parser[section].items():
                if not key.startswith("Exec"):
                    continue  # systemd runs commands from Exec* lines only
                words = shlex.split(value.replace("\\\n", " ").replace("\\", " "))
                if words and Path(words[0]).name == "gello":
                    check_gello(words[1:], block.where)
    else:
        raise AssertionError(f"{block.where}: no check for {block.lang!r} blocks")


def _gello_lists(node: object) -> Iterator[list[str]]:
    if isinstance(node, list):
        if node and node[0] == "gello" and all(isinstance(x, str) for x in node):
            yield node
        for item in node:
            yield from _gello_lists(item)
    elif isinstance(node, dict):
        for value in node.values():
            yield from _gello_lists(value)
