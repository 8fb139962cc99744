"""Every comment that cites ``docs/qbo-rules.md §N`` points at a section that exists, and
nothing cites research files that are not part of this repository."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [p for d in ("qbo_sync", "tests", "example_project", "benchmarks", "docs")
           for p in (ROOT / d).rglob("*") if p.suffix in {".py", ".md", ".html"}]
CITE = re.compile(r"qbo-rules\.md[^§\n]{0,40}((?:§ ?[0-9][0-9.]*[0-9]?(?:[–-]§?[0-9.]+)?"
                  r"(?:, ?)?)+)")


def _sections() -> set[str]:
    text = (ROOT / "docs" / "qbo-rules.md").read_text(encoding="utf-8")
    return {m.group(1) for m in re.finditer(r"^#{2,3} ([0-9]+(?:\.[0-9]+)?)\.? ", text, re.M)}


def _cited() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in SOURCES:
        text = path.read_text(encoding="utf-8")
        for match in CITE.finditer(text):
            for number in re.findall(r"§ ?([0-9]+(?:\.[0-9]+)?)", match.group(1)):
                found.setdefault(number, set()).add(str(path.relative_to(ROOT)))
    return found


def test_the_rules_page_has_its_numbered_sections():
    sections = _sections()
    assert {"1", "1.1", "1.7", "2.4", "3", "4.2", "5.2", "5.9", "6", "7.4", "8", "11"} <= sections


def test_every_citation_names_an_existing_section():
    sections = _sections()
    cited = _cited()
    assert len(cited) > 20  # the pattern finds the citations at all
    missing = {n: sorted(where)[:3] for n, where in cited.items() if n not in sections}
    assert not missing, f"cited but not in docs/qbo-rules.md: {missing}"


def test_no_citation_of_files_outside_the_repository():
    outside = re.compile("|".join(["qbo-api" + r"\.md", "DESIGN" + r"\.md",
                                   "shared/" + "reference"]))
    offenders = [str(p.relative_to(ROOT)) for p in SOURCES
                 if outside.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
