"""Private names stay private: no module of ``geomcore`` or ``dashboard`` imports a ``_name``
from another of their modules, or reads one as ``module._name``.

A name another module needs is public (no underscore), possibly in a private module
(``geomcore/geometry/_symbolic.py`` holds ``SymbolicMetric`` for ``metrics`` and ``surfaces``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("geomcore", "dashboard")


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _ours(module: str) -> bool:
    return module.split(".")[0] in PACKAGES


def private_uses(path: Path) -> list[str]:
    """``"file: module.name"`` for each private name of another of our modules that ``path``
    imports or reads as an attribute of an imported module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rel = path.relative_to(ROOT).as_posix()
    found = []
    modules: dict[str, str] = {}  # local name -> our module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and _ours(node.module):
            for alias in node.names:
                if _is_private(alias.name):
                    found.append(f"{rel}: {node.module}.{alias.name}")
                else:  # may be a submodule (``from geomcore.geometry import surfaces``)
                    modules[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _ours(alias.name):
                    local = alias.asname or alias.name.split(".")[0]
                    modules[local] = alias.name if alias.asname else local
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and _is_private(node.attr)
                and isinstance(node.value, ast.Name) and node.value.id in modules):
            found.append(f"{rel}: {modules[node.value.id]}.{node.attr}")
    return found


def _all_uses() -> set[str]:
    return {use for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))
            for use in private_uses(path)}


def test_no_module_uses_another_modules_private_names():
    found = sorted(_all_uses())
    assert not found, (
        "private names used across modules (make the name public, in a private module if it "
        "is not part of the API):\n" + "\n".join(found)
    )


@pytest.mark.parametrize("source, expected", [
    ("from geomcore.geometry.metrics import _latex_of\n",
     ["geomcore/x.py: geomcore.geometry.metrics._latex_of"]),
    ("from geomcore.geometry import metrics\nmetrics._Symbolic\n",
     ["geomcore/x.py: geomcore.geometry.metrics._Symbolic"]),
    ("import geomcore.optim._views as views\nviews._check_resolution(3)\n",
     ["geomcore/x.py: geomcore.optim._views._check_resolution"]),
    ("from geomcore.optim._views import check_resolution\nfrom numpy import _core\n", []),
    ("class A:\n    def f(self):\n        return self._x, A.__name__\n", []),
])
def test_the_checker_finds_imports_and_attribute_reads(tmp_path, monkeypatch, source, expected):
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    path = tmp_path / "geomcore" / "x.py"
    path.parent.mkdir()
    path.write_text(source, encoding="utf-8")
    assert private_uses(path) == expected
