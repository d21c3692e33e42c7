"""The Python examples of README.md and docs/*.md run, and their assertions hold.

Every fenced ```` ```python ```` block is an example. The blocks of one page run in order in one
namespace (a page may build on its earlier blocks), in a temporary working directory that sees the
repository's committed ``results/``. A block right after the comment
``<!-- docs-example: not run (REASON) -->`` is never run (it needs a cluster, say); after
``<!-- docs-example: slow -->`` it runs only with ``--run-slow`` (the page's other blocks still run
by default). Docstring examples (``>>>``) in the package run as doctests.
"""

from __future__ import annotations

import dataclasses
import doctest
import importlib
import importlib.util
import pkgutil
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted(
    [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")],
    key=lambda p: p.relative_to(ROOT).as_posix(),
)
_MARKER = re.compile(r"^<!--\s*docs-example:\s*(not run\s*\((?P<reason>[^)]+)\)|slow)\s*-->\s*$")
_FENCE = re.compile(r"^(?P<indent>\s*)```(?P<info>[^`]*)$")


@dataclasses.dataclass(frozen=True)
class Block:
    """One fenced Python example: its source, first code line (1-based) and how it runs."""

    source: str
    line: int
    mode: str  # "run", "slow" or "skip"
    reason: str = ""


def extract(text: str) -> list[Block]:
    """The ```python blocks of a Markdown text, with the mode set by the comment before each.

    Args:
      text: Markdown.

    Returns:
      The blocks in order.
    """
    lines = text.split("\n")
    blocks, i = [], 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        info, indent = fence["info"].strip(), fence["indent"]
        j = i + 1
        while j < len(lines) and lines[j].strip() != "```":
            j += 1
        if j == len(lines):
            raise ValueError(f"text: the code fence opened on line {i + 1} is never closed")
        if info == "python":
            mode, reason = "run", ""
            k = i - 1
            while k >= 0 and not lines[k].strip():
                k -= 1
            marker = _MARKER.match(lines[k].strip()) if k >= 0 else None
            if marker:
                mode, reason = ("skip", marker["reason"]) if marker["reason"] else ("slow", "")
            body = "\n".join(line.removeprefix(indent) for line in lines[i + 1 : j])
            blocks.append(Block(textwrap.dedent(body), i + 2, mode, reason))
        i = j + 1
    return blocks


def _readme_arrays(tmp: Path) -> None:
    """The files README.md's example loads: a student, labels and two teachers (known gaps)."""
    import jax

    from cch_jax.mi import tasks

    h_rgb, hs, y = tasks.cch_triple(0.4, key=jax.random.key(1)).sample(
        key=jax.random.key(2), n=2000
    )
    h_depth, _, _ = tasks.cch_triple(-0.4, key=jax.random.key(1)).sample(
        key=jax.random.key(2), n=2000
    )
    for name, arr in (("hs", hs), ("y", y), ("h_rgb", h_rgb), ("h_depth", h_depth)):
        np.save(tmp / f"{name}.npy", np.asarray(arr))


def _readme_verdicts(namespace: dict) -> None:
    assert namespace["res"].verdicts == {"rgb": "holds", "depth": "fails"}


# Per page: (set up the working directory, check the namespace afterwards).
FIXTURES = {"README.md": (_readme_arrays, _readme_verdicts)}


def _run(page: Path, blocks: list[Block], tmp_path: Path, monkeypatch) -> None:
    rel = page.relative_to(ROOT).as_posix()
    (tmp_path / "results").symlink_to(ROOT / "results", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    setup, check = FIXTURES.get(rel, (None, None))
    if setup is not None:
        setup(tmp_path)
    namespace = {"__name__": "__docs_example__"}
    for block in blocks:
        # padded so that a traceback names the page's own line numbers
        code = compile("\n" * (block.line - 1) + block.source, rel, "exec")
        exec(code, namespace)  # noqa: S102 - the documented examples are the test
    if check is not None:
        check(namespace)


def _cases():
    for page in PAGES:
        blocks = extract(page.read_text())
        rel = page.relative_to(ROOT).as_posix()
        fast = [b for b in blocks if b.mode == "run"]
        if fast:
            yield pytest.param(page, fast, id=rel)
        if any(b.mode == "slow" for b in blocks):
            every = [b for b in blocks if b.mode != "skip"]
            yield pytest.param(page, every, id=f"{rel}[with slow]", marks=pytest.mark.slow)


@pytest.mark.parametrize("page,blocks", list(_cases()))
def test_page_examples_run(page, blocks, tmp_path, monkeypatch):
    _run(page, blocks, tmp_path, monkeypatch)


def test_examples_exist_and_skips_say_why():
    every = {p.relative_to(ROOT).as_posix(): extract(p.read_text()) for p in PAGES}
    run = {rel for rel, blocks in every.items() if any(b.mode == "run" for b in blocks)}
    for rel in ("README.md", "docs/check.md", "docs/estimators.md", "docs/theory.md", "docs/kd.md"):
        assert rel in run, f"{rel}: no runnable Python example found"
    skipped = [b for blocks in every.values() for b in blocks if b.mode == "skip"]
    assert skipped and all(b.reason.strip() for b in skipped)


def test_extract_reads_modes_lines_and_indented_fences():
    text = textwrap.dedent(
        """\
        # Page

        ```python
        a = 1
        ```

        <!-- docs-example: not run (needs a cluster) -->
        ```python
        cluster()
        ```

        <!-- docs-example: slow -->

        ```python
        b = a + 1
        ```

        ```bash
        echo not python
        ```

        * a list item:

          ```python
          c = 3
          ```
        """
    )
    blocks = extract(text)
    assert [(b.mode, b.line, b.source.strip()) for b in blocks] == [
        ("run", 4, "a = 1"),
        ("skip", 9, "cluster()"),
        ("slow", 15, "b = a + 1"),
        ("run", 25, "c = 3"),
    ]
    assert blocks[1].reason == "needs a cluster"
    with pytest.raises(ValueError, match="text: the code fence opened on line 1"):
        extract("```python\nx = 1\n")


def test_a_failing_example_fails_with_its_page_line(tmp_path, monkeypatch):
    page = tmp_path / "page.md"
    page.write_text("ok\n")
    blocks = extract("text\n\n```python\nx = 1\nassert x == 2\n```\n")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    (tmp_path / "results").mkdir()
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with pytest.raises(AssertionError) as info:
        _run(page, blocks, run_dir, monkeypatch)
    frame = info.traceback[-1]
    assert Path(str(frame.path)).name == "page.md" and frame.lineno + 1 == 5


def _package_modules() -> list[str]:
    import cch_jax

    names = ["cch_jax"]
    for info in pkgutil.walk_packages(cch_jax.__path__, prefix="cch_jax."):
        names.append(info.name)
    return sorted(names)


def test_docstring_examples_pass():
    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    found = 0
    for name in _package_modules():
        module = importlib.import_module(name)
        for test in finder.find(module, name):
            if test.examples:
                found += len(test.examples)
                runner.run(test, out=lambda text: None)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {found} docstring examples failed"
    assert result.attempted == found


def test_the_doctest_runner_catches_a_wrong_example():
    test = doctest.DocTestParser().get_doctest(">>> 1 + 1\n3\n", {}, "wrong", "wrong.py", 0)
    runner = doctest.DocTestRunner()
    runner.run(test, out=lambda text: None)
    assert runner.summarize(verbose=False).failed == 1


def _slug(heading: str) -> str:
    """The anchor MkDocs (toc's default slugify) and GitHub give a heading."""
    text = re.sub(r"[^\w\s-]", "", heading.replace("`", "")).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def test_readme_links_resolve():
    # README.md is not part of the site, so `mkdocs build --strict` does not check its links.
    text = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    local = [t for t in targets if not re.match(r"[a-z]+://", t)]
    assert any(t.startswith("docs/") for t in local)
    for target in local:
        path, _, anchor = target.partition("#")
        assert (ROOT / path).is_file(), f"README.md links to a missing file: {target}"
        if anchor:
            headings = re.findall(r"^#+ (.+)$", (ROOT / path).read_text(), re.MULTILINE)
            assert anchor in {_slug(h) for h in headings}, f"README.md: no heading for {target}"


def test_slug_matches_the_site_anchors():
    assert _slug("Known answers, bias and coverage") == "known-answers-bias-and-coverage"
    assert _slug("Should I distill? `cch check`") == "should-i-distill-cch-check"


def test_sphinx_roles_become_inline_code():
    pytest.importorskip("griffe")  # the docs extra; the docs build loads this extension
    spec = importlib.util.spec_from_file_location(
        "griffe_roles", ROOT / "docs/hooks/griffe_roles.py"
    )
    roles = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(roles)
    text = "see :func:`moments`, :class:`~cch_jax.theory.Moments` and :data:`DATASETS`; ``x``"
    assert roles.strip_roles(text) == "see `moments`, `Moments` and `DATASETS`; ``x``"
    assert roles.strip_roles(":mod:`cch_jax.kd`") == "`cch_jax.kd`"
