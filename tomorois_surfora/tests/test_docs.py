"""The documentation stays true: every command in README.md and docs/ parses, every file and section it links
exists, and docs/cli.md's reference is the parser's."""
import contextlib
import importlib.util
import io
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tomorois_surfora.engine.cli import build_parser, leaf_commands

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CLI_PREFIXES = (("tomorois-surfora",), (".venv/bin/tomorois-surfora",), ("python", "-m", "tomorois_surfora.engine"),
                (".venv/bin/python", "-m", "tomorois_surfora.engine"))
SCRIPT_RUNNERS = {".venv/bin/python", "python", "bash"}


def _fenced_blocks(path):
    """(language, text) of every fenced code block of a markdown file."""
    blocks, language, lines = [], None, []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            if language is None:
                language, lines = line.strip()[3:].strip(), []
            else:
                blocks.append((language, "\n".join(lines)))
                language = None
        elif language is not None:
            lines.append(line)
    return blocks


def _code_lines(path):
    """Shell lines of the document's bash (or unlabelled) code blocks: continuations joined, comments dropped,
    && split."""
    lines = []
    for language, block in _fenced_blocks(path):
        if language not in ("", "bash", "sh"):
            continue
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"\s+#\s.*$", "", line).strip()
            lines += [part.strip() for part in line.split("&&") if part.strip()]
    return lines


def _commands():
    """(document, words after the CLI prefix) for every engine command line in a code block."""
    found = []
    for path in DOCUMENTS:
        for line in _code_lines(path):
            if not any(line.split()[0] == prefix[0] for prefix in CLI_PREFIXES):
                continue
            words = shlex.split(line)
            for prefix in CLI_PREFIXES:
                if tuple(words[:len(prefix)]) == prefix:
                    found.append((path.relative_to(ROOT).as_posix(), words[len(prefix):]))
    return found


def _scripts():
    """(document, script path, the words after it) for every repository script a code block runs."""
    found = []
    for path in DOCUMENTS:
        for line in _code_lines(path):
            if line.split()[0] not in SCRIPT_RUNNERS:
                continue
            words = shlex.split(line)
            if len(words) > 1 and words[0] in SCRIPT_RUNNERS and words[1].endswith((".py", ".sh")):
                found.append((path.relative_to(ROOT).as_posix(), words[1], words[2:]))
    return found


def _parse(words):
    """Exit code of parsing ``words`` with the CLI's parser (0 when it parses), and what it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            build_parser().parse_args(words)
        except SystemExit as exc:
            return exc.code, out.getvalue()
    return 0, out.getvalue()


def test_the_documents_hold_commands_to_check():
    documents = {doc for doc, _ in _commands()}
    assert {"README.md", "docs/cli.md"} <= documents
    named = {tuple(words[:2]) for _, words in _commands()}
    assert len(named) >= 14, "the CLI guide shows almost every subcommand in use"


@pytest.mark.parametrize("document, words", _commands(), ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_every_documented_command_parses_and_its_subcommand_has_help(document, words):
    code, printed = _parse(words)
    assert code == 0, f"{document}: tomorois-surfora {' '.join(words)}\n{printed}"
    subcommand = [w for w in words[:2] if not w.startswith("-")]
    code, printed = _parse([*subcommand, "--help"])
    assert code == 0 and "usage: tomorois-surfora" in printed


@pytest.mark.parametrize("document, script, words", _scripts(), ids=lambda v: v if isinstance(v, str) else None)
def test_every_documented_script_exists_and_knows_the_options_shown(document, script, words):
    path = ROOT / script
    assert path.is_file(), f"{document} runs {script}, which does not exist"
    if script.endswith(".py"):
        positional = []
        for word in words:
            if word.startswith("-"):
                break
            positional.append(word)
        result = subprocess.run([sys.executable, str(path), *positional, "--help"], cwd=ROOT, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0 and "usage:" in result.stdout, result.stderr[-2000:]
        unknown = [w for w in words if w.startswith("--") and w.split("=")[0] not in result.stdout]
        assert not unknown, f"{document}: {script} {' '.join(positional)} has no {unknown}"


def _slug(heading):
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text))


def _anchors(path):
    return {_slug(h) for h in re.findall(r"^#+\s+(.*)$", path.read_text(encoding="utf-8"), flags=re.M)}


def _links():
    for path in DOCUMENTS:
        text = path.read_text(encoding="utf-8")
        for _, block in _fenced_blocks(path):
            text = text.replace(block, "")
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if not re.match(r"[a-z]+://|mailto:", target):
                yield path, target


def test_every_linked_file_and_section_exists():
    links = list(_links())
    assert len(links) > 20
    broken = []
    for path, target in links:
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            broken.append(f"{path.name}: {target} (no such file)")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(f"{path.name}: {target} (no such section)")
    assert not broken, "\n".join(broken)


def test_cli_reference_matches_the_parser():
    spec = importlib.util.spec_from_file_location("cli_reference", ROOT / "scripts" / "cli_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = module.CLI_DOC.read_text(encoding="utf-8")
    assert module.updated_document(text) == text, "docs/cli.md is stale: run scripts/cli_reference.py"
    documented = {line.split("`")[1] for line in text.splitlines() if line.startswith("### `tomorois-surfora")}
    assert documented == {"tomorois-surfora " + " ".join(words) for words, _ in leaf_commands()}


def test_readme_stays_short():
    assert len((ROOT / "README.md").read_text(encoding="utf-8").splitlines()) <= 250
