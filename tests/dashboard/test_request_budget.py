"""One request costs at most about 20 s of CPU (issue 14, §2): the widgets' maxima are named
constants, and the code that computes refuses sizes beyond them.

Measured costs are in the constants' docstrings and in ``benchmarks/worst_case.py``; no test
here times anything. Before these bounds, the worst requests took 572 s (/optim: digits, 1500
points, 64-64-64, 1000 CG steps), 93 s (a 128-direction spray on a thin ellipsoid), 36 s (the
Fisher spectra on digits), about 20 s (GDE at 400 epochs with its collapse run; the latent page
with 3000 points).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from dashboard.cached import embedding as cached_embedding
from dashboard.cached import geometry as cached_geometry
from dashboard.cached import latent as cached_latent
from dashboard.cached import optim as cached_optim
from geomcore import optim
from geomcore.optim import DEFAULT_OPTIMIZERS, TrainingError
from tests.dashboard.conftest import errors, problems, run_page

VIEWS = Path(__file__).resolve().parents[2] / "dashboard" / "views"


def widget_arguments(page: str, key: str) -> list[str]:
    """The source text of the positional arguments of the widget call with ``key=key``."""
    tree = ast.parse((VIEWS / f"{page}.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and any(
                kw.arg == "key" and isinstance(kw.value, ast.Constant) and kw.value.value == key
                for kw in node.keywords):
            return [ast.unparse(a) for a in node.args]
    raise AssertionError(f"no widget with key {key!r} in views/{page}.py")


# -- the widgets' maxima are the named constants --------------------------------------------------
@pytest.mark.parametrize(("page", "key", "index", "constant"), [
    ("optim", "optim_steps", 2, "cached.MAX_TRAIN_STEPS"),
    ("geometry", "geo_length", 2, "cached.MAX_GEODESIC_LENGTH"),
    ("geometry", "geo_ndirs", 2, "cached.MAX_SPRAY_DIRECTIONS"),
    ("geometry", "geo_spray_length", 2, "cached.MAX_SPRAY_RADIUS"),
    ("latent", "latent_n", 2, "cached.MAX_POINTS_3D"),
    ("latent", "latent_epochs", 2, "cached.MAX_EPOCHS"),
    ("latent", "latent_hidden", 1, "cached.HIDDEN_WIDTHS"),
    ("latent", "latent_centers", 1, "cached.RBF_CENTERS"),
])
def test_widget_maximum_is_the_named_constant(page, key, index, constant):
    assert widget_arguments(page, key)[index] == constant


def test_gde_epochs_offered_end_at_the_bound():
    assert widget_arguments("embedding", "emb_epochs")[1] == "GDE_EPOCHS"
    tree = ast.parse((VIEWS / "embedding.py").read_text(encoding="utf-8"))
    options = next(node.value for node in ast.walk(tree) if isinstance(node, ast.Assign)
                   and any(isinstance(t, ast.Name) and t.id == "GDE_EPOCHS"
                           for t in node.targets))
    assert isinstance(options, ast.List)
    assert ast.unparse(options.elts[-1]) == "cached.MAX_GDE_EPOCHS"


def test_geometry_sliders_read_through_apptest():
    at = run_page("geometry")
    assert at.slider(key="geo_length").max == cached_geometry.MAX_GEODESIC_LENGTH
    at.radio(key="geo_mode").set_value("spray")  # the torus: its spray is cheap
    at.run()
    assert not problems(at)
    assert at.slider(key="geo_ndirs").max == cached_geometry.MAX_SPRAY_DIRECTIONS
    assert at.slider(key="geo_spray_length").max == cached_geometry.MAX_SPRAY_RADIUS


# -- the cached layer and geomcore refuse what the widgets cannot ask for ---------------------
def test_spray_beyond_the_bounds_is_refused():
    cached_geometry.check_spray(cached_geometry.MAX_SPRAY_DIRECTIONS,
                                cached_geometry.MAX_SPRAY_RADIUS)
    with pytest.raises(ValueError, match="1..128 directions"):
        cached_geometry.check_spray(cached_geometry.MAX_SPRAY_DIRECTIONS + 1, 1.0)
    with pytest.raises(ValueError, match="radius"):
        cached_geometry.check_spray(8, cached_geometry.MAX_SPRAY_RADIUS * 1.01)


def test_gde_epochs_beyond_the_bound_are_refused():
    cached_embedding.GDEConfig(epochs=cached_embedding.MAX_GDE_EPOCHS)
    with pytest.raises(ValueError, match="1..300"):
        cached_embedding.GDEConfig(epochs=cached_embedding.MAX_GDE_EPOCHS + 1)


@pytest.mark.parametrize("changes", [
    {"dataset": "swiss_roll", "n": cached_latent.MAX_POINTS_3D + 1},
    {"dataset": "digits", "n": 1798},
    {"epochs": cached_latent.MAX_EPOCHS + 1},
    {"hidden": max(cached_latent.HIDDEN_WIDTHS) + 1},
    {"dataset": "nonsense"},
])
def test_latent_model_beyond_the_widgets_is_refused(changes):
    cached_latent.ModelConfig(dataset="swiss_roll", n=cached_latent.MAX_POINTS_3D,
                              epochs=cached_latent.MAX_EPOCHS,
                              hidden=max(cached_latent.HIDDEN_WIDTHS))
    settings = {"dataset": "swiss_roll", "n": 1000, **changes}
    with pytest.raises(ValueError, match="out of range|unknown dataset"):
        cached_latent.ModelConfig(**settings)
    with pytest.raises(ValueError, match="RBF centres"):
        cached_latent.MetricConfig(model=cached_latent.ModelConfig(),
                                   n_centers=max(cached_latent.RBF_CENTERS) + 1)


# -- natural gradient: the training budget ----------------------------------------------------
DIGITS = optim.make_task("digits", n=1500, seed=0)
CG = {name: dict(spec, solver="cg") if name == "NGD" else dict(spec)
      for name, spec in DEFAULT_OPTIMIZERS.items()}


def test_the_572_second_experiment_is_refused_with_the_steps_that_fit():
    with pytest.raises(TrainingError, match=r"use at most (\d+) steps") as info:
        optim.compare(DIGITS, [64, 64, 64, 64, 10], optimizers=CG,
                      steps=cached_optim.MAX_TRAIN_STEPS,
                      max_seconds=cached_optim.MAX_TRAIN_SECONDS)
    found = re.search(r"at most (\d+) steps", str(info.value))
    assert found is not None
    fit = int(found.group(1))
    # the steps it names do fit, one more does not
    seconds = optim.training_seconds(DIGITS, [64, 64, 64, 64, 10], CG, fit)
    assert seconds <= cached_optim.MAX_TRAIN_SECONDS
    assert optim.training_seconds(DIGITS, [64, 64, 64, 64, 10], CG, fit + 1) \
        > cached_optim.MAX_TRAIN_SECONDS
    assert 10 <= fit < 100


def test_the_default_experiment_is_allowed_at_the_steps_maximum():
    moons = optim.make_task("moons", n=500, seed=0)
    assert optim.training_seconds(moons, [2, 16, 16, 2], DEFAULT_OPTIMIZERS,
                                  cached_optim.MAX_TRAIN_STEPS) \
        <= cached_optim.MAX_TRAIN_SECONDS


def test_the_estimate_counts_steps_points_and_the_solver():
    sizes = [64, 16, 16, 10]
    ngd = {"NGD": {"kind": "ngd", "solver": "exact"}}
    one = optim.training_seconds(DIGITS, sizes, ngd, 10)
    assert optim.training_seconds(DIGITS, sizes, ngd, 20) == pytest.approx(2 * one, rel=1e-12)
    fewer = optim.make_task("digits", n=500, seed=0)
    assert optim.training_seconds(fewer, sizes, ngd, 10) < one
    # An exact solve of the 1482×1482 primal system on 13 500 Fisher rows is dearer than ten
    # CG iterations, and both far dearer than an SGD step.
    cg = optim.training_seconds(DIGITS, sizes, {"NGD": {"kind": "ngd", "solver": "cg"}}, 10)
    sgd = optim.training_seconds(DIGITS, sizes, {"SGD": {"kind": "sgd"}}, 10)
    assert one > cg > 10 * sgd


def test_reparametrisation_demo_is_bounded_too():
    with pytest.raises(TrainingError, match="2 trainings"):
        optim.reparametrization_demo(DIGITS, (16, 16), solver="exact", steps=200,
                                     max_seconds=cached_optim.MAX_TRAIN_SECONDS)


def test_spectra_use_at_most_the_bounded_rows():
    assert cached_optim.spectrum_points(DIGITS) * 9 <= cached_optim.SPECTRUM_ROWS
    moons = optim.make_task("moons", n=1500, seed=0)
    assert cached_optim.spectrum_points(moons) == cached_optim.SPECTRUM_POINTS


def test_the_page_names_the_steps_that_fit():
    at = run_page("optim")
    assert at.slider(key="optim_steps").max == cached_optim.MAX_TRAIN_STEPS
    at.selectbox(key="optim_task").set_value("digits")
    at.slider(key="optim_n").set_value(1500)
    at.text_input(key="optim_hidden").set_value("64, 64, 64")
    at.selectbox(key="optim_solver").set_value("cg")
    at.slider(key="optim_steps").set_value(cached_optim.MAX_TRAIN_STEPS)
    at.run()
    assert not problems(at)
    shown = errors(at)
    assert any("use at most" in e and "steps" in e for e in shown), shown
