"""The README's module map lists exactly the package's modules and folders."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Folders the map shows without their contents.
OPAQUE = {"admin", "api", "management", "testing", "migrations", "templates"}


def _mapped() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- module map: start -->\n```\n(.*?)```", text, re.S)
    assert block, "README.md has no module map block"
    paths, parents = set(), []
    for line in block.group(1).splitlines()[1:]:  # skip the "qbo_sync/" root line
        name = line.split()[0]
        depth = (len(line) - len(line.lstrip())) // 2 - 1
        parents = parents[:depth]
        paths.add("/".join([*parents, name.rstrip("/")]))
        if name.endswith("/"):
            parents.append(name.rstrip("/"))
    return paths


def _tree() -> set[str]:
    package = ROOT / "qbo_sync"
    found = set()
    for path in package.iterdir():
        if path.name.startswith(".") or path.name in {"__init__.py", "py.typed", "__pycache__"}:
            continue
        found.add(path.name)
        if path.is_dir() and path.name not in OPAQUE:
            found.update(f"{path.name}/{p.name}" for p in path.glob("*.py")
                         if p.name != "__init__.py")
    return found


def test_readme_module_map_matches_the_tree():
    mapped, tree = _mapped(), _tree()
    assert not tree - mapped, f"in the tree but not in the README's map: {sorted(tree - mapped)}"
    assert not mapped - tree, f"in the README's map but not in the tree: {sorted(mapped - tree)}"
