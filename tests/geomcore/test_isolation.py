"""geomcore is a library: importing it must not pull in the dashboard's UI stack."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

UI_MODULES = ("streamlit", "plotly")

PROBE = """
import importlib, json, sys
for name in {modules!r}:
    importlib.import_module(name)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {ui!r})))
"""


def _loaded_ui_modules(modules: list[str]) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(modules=modules, ui=UI_MODULES)],
        capture_output=True, text=True, timeout=120, check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _geomcore_modules() -> list[str]:
    names = ["geomcore", "geomcore.expr", "geomcore.geometry", "geomcore.geometry.surfaces",
             "geomcore.geometry.metrics", "geomcore.geometry.geodesics"]
    for lab in ("optim", "embedding", "curvature"):
        name = f"geomcore.{lab}"
        spec = importlib.util.find_spec(name)
        if spec is not None and (spec.origin is not None or spec.submodule_search_locations):
            names.append(name)
    return names


def test_geomcore_imports_neither_streamlit_nor_plotly():
    assert _loaded_ui_modules(_geomcore_modules()) == []


@pytest.mark.parametrize("ui", UI_MODULES)
def test_the_probe_sees_a_ui_import(ui):
    """The check above must be able to fail: importing the UI module itself is detected."""
    if importlib.util.find_spec(ui) is None:
        pytest.skip(f"{ui} is not installed")
    assert ui in _loaded_ui_modules(["geomcore", ui])
