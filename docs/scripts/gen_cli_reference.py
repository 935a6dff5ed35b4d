"""Generate reference/cli.md from the Typer application at build time.

Typer's own documentation generator (``typer MODULE utils docs``) renders every command,
argument and option, so the page always matches the installed command line. A failure
fails the build (``check=True``).
"""

from __future__ import annotations

import subprocess
import sys

import mkdocs_gen_files

INTRO = """# Command line reference

Generated from the `gello` command line itself at every build. `gello COMMAND --help`
prints the same in a terminal.

"""

docs = subprocess.run(
    [sys.executable, "-m", "typer", "gello_cli.app", "utils", "docs", "--name", "gello"],
    check=True,
    capture_output=True,
    text=True,
).stdout
# Typer's page starts with its own "# `gello`" title; the intro above gives the page's.
body = docs.replace("# `gello`", "## `gello`", 1).replace("\n## `gello ", "\n### `gello ")
with mkdocs_gen_files.open("reference/cli.md", "w") as page:
    page.write(INTRO + body)
mkdocs_gen_files.set_edit_path("reference/cli.md", "../gello_cli/app.py")
