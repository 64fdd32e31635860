"""Every chart saves a PNG at presentation resolution (twice its size on screen)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from dashboard.figures.theme import PLOT_CONFIG
from dashboard.labs import LABS
from tests.dashboard.conftest import problems, run_page

VIEWS = Path(__file__).resolve().parents[2] / "dashboard" / "views"


def test_the_shared_config_exports_at_scale_two():
    assert PLOT_CONFIG["toImageButtonOptions"] == {"format": "png", "scale": 2}
    assert PLOT_CONFIG["displaylogo"] is False


def _calls(tree: ast.AST, name: str) -> list[ast.Call]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call) and (
        isinstance(node.func, ast.Attribute) and node.func.attr == name
        or isinstance(node.func, ast.Name) and node.func.id == name)]


@pytest.mark.parametrize("view", sorted(p.name for p in VIEWS.glob("*.py") if p.stem != "__init__"))
def test_every_chart_call_passes_the_shared_config(view):
    """Pages draw through ``widgets.chart`` (which passes PLOT_CONFIG, see below) or pass the
    config themselves."""
    tree = ast.parse((VIEWS / view).read_text())
    calls = _calls(tree, "plotly_chart")
    for call in calls:
        config = [kw.value for kw in call.keywords if kw.arg == "config"]
        assert len(config) == 1 and isinstance(config[0], ast.Name) \
            and config[0].id == "PLOT_CONFIG", f"{view}:{call.lineno} draws without PLOT_CONFIG"
    if view != "home.py":
        assert calls or _calls(tree, "chart"), f"{view} draws no chart"


def test_the_chart_helper_passes_the_shared_config():
    source = (VIEWS.parent / "widgets.py").read_text()
    (call,) = _calls(ast.parse(source), "plotly_chart")
    config = [kw.value for kw in call.keywords if kw.arg == "config"]
    assert len(config) == 1 and isinstance(config[0], ast.Name) and config[0].id == "PLOT_CONFIG"


@pytest.mark.parametrize("slug", [lab.slug for lab in LABS if lab.slug in ("geometry", "duality")])
def test_charts_on_a_page_carry_the_export_scale(slug):
    at = run_page(slug)
    assert not problems(at)
    charts = at.get("plotly_chart")
    assert charts
    for chart in charts:
        assert json.loads(chart.proto.config)["toImageButtonOptions"]["scale"] >= 2
