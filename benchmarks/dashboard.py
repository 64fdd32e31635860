"""Warm rerun time of each lab page after a widget change, measured with streamlit's AppTest.

Run: ``.venv/bin/python benchmarks/dashboard.py``. Each scenario changes one widget to a value
not seen before (so the geomcore call is a cache miss where the change demands one) and times
the rerun of the whole page script; figures are built, serialised and sent as they would be to
a browser. The target is 300 ms warm. The browser's own drawing time is not included.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from streamlit.testing.v1 import AppTest

# This file is itself named dashboard.py: drop its folder from the path, or "dashboard" would
# name this script instead of the app's package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
from dashboard.i18n import use_language  # noqa: E402

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")
TARGET_MS = 300.0
COLD_TARGET_MS = {"optim": 5000.0, "embedding": 20_000.0}


def _page(name: str, params: dict[str, str] | None = None) -> AppTest:
    """The page as opened from a link (``params`` in its URL)."""
    at = AppTest.from_file(APP, default_timeout=300)
    for key, value in (params or {}).items():
        at.query_params[key] = value
    at.switch_page(f"views/{name}.py")
    at.run()
    return at


def _time_reruns(at: AppTest, change: Callable[[AppTest, int], None], repeats: int) -> float:
    times = []
    for i in range(repeats):
        change(at, i)
        t0 = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - t0)
        if at.exception:
            raise RuntimeError(at.exception[0].value)
    return statistics.median(times) * 1e3


def geometry_scenarios() -> dict[str, Callable[[AppTest, int], None]]:
    def move_start(at: AppTest, i: int) -> None:
        key = next(s.key for s in at.slider if s.key and s.key.endswith("_pu"))
        at.slider(key=key).set_value(1.0 + 0.013 * i)

    def turn(at: AppTest, i: int) -> None:
        at.slider(key="geo_angle").set_value(10 + 7 * i)

    def colour(at: AppTest, i: int) -> None:
        at.radio(key="geo_field").set_value("mean" if i % 2 == 0 else "gaussian")

    return {"geometry: move start point (torus geodesic)": move_start,
            "geometry: change direction": turn,
            "geometry: colour by K/H (view only)": colour}


def embedding_rows(repeats: int) -> list[tuple[str, float]]:
    """Isomap vs GDE: the cold open (Isomap and GDE on 1500 swiss-roll points), then view-only
    changes, which must hit the caches (every view visited once first)."""
    t0 = time.perf_counter()
    at = _page("embedding")
    rows = [("embedding: cold open, Isomap + GDE (target 20 s)",
             (time.perf_counter() - t0) * 1e3)]
    views = ["embeddings", "training", "out_of_sample", "decoder", "pair", "short_circuits"]
    for view in views:  # warm every cache once
        at.radio(key="emb_view").set_value(view)
        at.run()

    def each_view(at: AppTest, i: int) -> None:
        at.radio(key="emb_view").set_value(views[i % len(views)])

    def pair_mode(at: AppTest, i: int) -> None:
        at.radio(key="emb_pair_mode").set_value("index" if i % 2 == 0 else "worst")

    rows.append(("embedding: switch view (cache hits)", _time_reruns(at, each_view, repeats)))
    at.radio(key="emb_view").set_value("pair")
    at.run()
    rows.append(("embedding: pair mode (view only)", _time_reruns(at, pair_mode, repeats)))
    return rows


def main(repeats: int = 9) -> None:
    rows = []
    at = _page("geometry")
    for label, change in geometry_scenarios().items():
        rows.append((label, _time_reruns(at, change, repeats)))
    at.radio(key="geo_mode").set_value("spray")
    at.run()

    def spray_move(at: AppTest, i: int) -> None:
        key = next(s.key for s in at.slider if s.key and s.key.endswith("_pv"))
        at.slider(key=key).set_value(1.5 + 0.017 * i)

    rows.append(("geometry: move spray centre (48 geodesics)",
                 _time_reruns(at, spray_move, repeats)))
    # the same sliders in Chinese and in projector mode (catalog lookups, enlarged figures)
    turn = geometry_scenarios()["geometry: change direction"]
    for label, lang, params in (("in Chinese", "zh", {"lang": "zh"}),
                                ("projector mode", "en", {"projector": "1"})):
        # AppTest formats option labels outside the script run: in the page's language here
        with use_language(lang):
            rows.append((f"geometry: change direction ({label})",
                         _time_reruns(_page("geometry", params), turn, repeats)))
    t0 = time.perf_counter()
    at = _page("optim")
    cold = (time.perf_counter() - t0) * 1e3
    rows.append(("optim: cold open, default experiment (target 5 s)", cold))

    def log_scale(at: AppTest, i: int) -> None:
        at.toggle(key="optim_log_y").set_value(i % 2 == 0)

    def target(at: AppTest, i: int) -> None:
        options = at.selectbox(key="optim_target").options
        at.selectbox(key="optim_target").set_value(float(options[i % len(options)]))

    rows.append(("optim: log-scale toggle (view only, cache hit)",
                 _time_reruns(at, log_scale, repeats)))
    rows.append(("optim: target loss (view only, cache hit)", _time_reruns(at, target, repeats)))
    rows += embedding_rows(repeats)
    print(f"{'scenario':52s} {'median ms':>10s} {'target':>8s}  met")
    for label, ms in rows:
        limit = COLD_TARGET_MS.get(label.split(":")[0], TARGET_MS) if "cold" in label \
            else TARGET_MS
        print(f"{label:52s} {ms:10.1f} {limit:8.0f}  {'yes' if ms <= limit else 'NO'}")


if __name__ == "__main__":
    main()
