"""mkdocs-gen-files script: ``cli.md``, the ``--help`` text of every ``psychcore`` command.

Generated from :func:`psychcore.cli.build_parser` at build time, so the page cannot drift from
the parser.
"""

from __future__ import annotations

import argparse
import os

import mkdocs_gen_files

from psychcore.cli import build_parser

INTRO = """\
# The command line

<!-- Generated at build time by docs/gen/gen_cli.py from psychcore.cli's argument parser. -->

Every command below prints the same text with `--help`. Errors are one line,
`psychcore: error: ...`, naming the argument or file; `psychcore --debug COMMAND` (or
`PSYCHCORE_DEBUG=1`) adds the traceback. The exit status of every command is listed under
[`psychcore`](#psychcore). Without `--backend`, commands use the backend named by
`PSYCHCORE_BACKEND`, else the only installed one. Guides: [sweeps](sweeps.md),
[reproducibility](reproducibility.md) (`psychcore repro`), [analysis](analysis.md)
(`psychcore report`), [writing a task plugin](writing-a-task-plugin.md) (`psychcore new`).
"""


def _commands(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.ArgumentParser]]:
    """``(prog, parser)`` of ``parser`` and every subcommand below it, depth first."""
    out = [(parser.prog, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                out.extend(_commands(sub))
    return out


def main() -> None:
    """Write ``cli.md``."""
    os.environ["COLUMNS"] = "100"  # argparse wraps at the terminal width; fix it for the page
    parts = [INTRO]
    for prog, parser in _commands(build_parser()):
        anchor = prog.replace(" ", "-")
        usage = parser.format_help().rstrip()
        parts.append(f"## `{prog}` {{#{anchor}}}\n\n```text\n{usage}\n```\n")
    with mkdocs_gen_files.open("cli.md", "w") as fh:
        fh.write("\n".join(parts))


main()
