"""Write the reference part of docs/cli.md from the command line's own parser, so it cannot drift.

    .venv/bin/python scripts/cli_reference.py          # rewrite docs/cli.md between its markers
    .venv/bin/python scripts/cli_reference.py --check  # exit 1 if docs/cli.md is out of date (a test runs this)
"""
import argparse
import sys
from pathlib import Path

from tomorois_surfora.engine.cli import PROG, leaf_commands

CLI_DOC = Path(__file__).resolve().parent.parent / "docs" / "cli.md"
BEGIN = "<!-- reference: written by scripts/cli_reference.py from the parser; edit the parser, not this -->"
END = "<!-- end of reference -->"


def _option_row(action):
    if action.option_strings:
        flags = ", ".join(f"`{flag}`" for flag in action.option_strings)
        if action.nargs != 0:
            metavar = action.metavar or action.dest.upper()
            metavar = " ".join(metavar) if isinstance(metavar, tuple) else metavar
            flags += f" {metavar}" + (" …" if action.nargs in ("+", "*") else "")
    else:
        flags = f"`{action.metavar or action.dest}`" + (" …" if action.nargs in ("+", "*") else "")
    text = action.help % {"default": action.default, "prog": PROG} if action.help else ""
    if action.required and action.option_strings:
        text = "**required**; " + text
    if action.choices and not isinstance(action, argparse._SubParsersAction):
        text += f" (one of: {', '.join(map(str, action.choices))})"
    return f"| {flags} | {text.replace('|', '/')} |"


def reference():
    """The markdown reference: one section per command with its description and options."""
    lines = [BEGIN, ""]
    for words, parser in leaf_commands():
        lines += [f"### `{PROG} {' '.join(words)}`", ""]
        if parser.description:
            lines += [" ".join(parser.description.split()), ""]
        lines += ["| argument | meaning |", "|---|---|"]
        lines += [_option_row(a) for a in parser._actions if not isinstance(a, argparse._HelpAction)]
        lines.append("")
    return "\n".join(lines + [END])


def updated_document(text):
    """``text`` (docs/cli.md) with its reference part replaced by the current one."""
    if BEGIN not in text or END not in text:
        raise SystemExit(f"{CLI_DOC}: the reference markers are missing")
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    return head + reference() + tail


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check that docs/cli.md is current")
    args = parser.parse_args()
    text = CLI_DOC.read_text(encoding="utf-8")
    new = updated_document(text)
    if args.check:
        if new != text:
            print(f"{CLI_DOC} is out of date: run scripts/cli_reference.py", file=sys.stderr)
            return 1
        print(f"{CLI_DOC} is current")
        return 0
    CLI_DOC.write_text(new, encoding="utf-8")
    print(f"wrote the reference of {len(leaf_commands())} commands into {CLI_DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
