# DiffGeo Lab: `make run` starts the dashboard, `make test` runs lint and every test.
# Both create .venv on first use and install the project with the pinned versions in constraints.txt.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8501
# make serve-class: Streamlit replicas (one per core by default) behind nginx on PORT.
REPLICAS ?= $(shell nproc 2>/dev/null || echo 2)
LISTEN   ?= 0.0.0.0
PYTEST_ARGS ?=

# Reference libraries of the tests installed without their declared dependencies, versions pinned
# in constraints.txt; what they really import is installed by the project's extras:
# - BackPACK (with unfoldNd, einops) and nngeometry declare torchvision without importing it,
#   which would pull a second, multi-GB CUDA torch;
# - GraphRicciCurvature (with networkit, python-louvain) declares scipy<=1.13.1, which would
#   downgrade scipy, and cython, which it does not import;
# - stochman declares matplotlib, which it imports only to plot.
REFERENCE_NO_DEPS := backpack-for-pytorch unfoldNd einops nngeometry \
	GraphRicciCurvature networkit python-louvain stochman
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt

.PHONY: install run serve-class test lint bench e2e assets clean

# Reinstalls only when pyproject.toml, constraints.txt or this file changed (the stamp).
$(STAMP): pyproject.toml constraints.txt Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) -e '.[dev,test]'
	$(PIP) --no-deps $(REFERENCE_NO_DEPS)
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/streamlit run dashboard/app.py --server.port $(PORT) --server.address localhost

# A class on one server: REPLICAS Streamlit processes on 127.0.0.1:PORT+1… behind nginx on
# LISTEN:PORT, with session affinity (README, "Serving a class"). Needs nginx (Debian: apt-get
# install nginx); Ctrl-C stops nginx and every replica.
serve-class: $(STAMP)
	$(BIN)/python -m deploy.serve_class --replicas $(REPLICAS) --port $(PORT) --listen $(LISTEN)

lint: $(STAMP)
	$(BIN)/ruff check geomcore dashboard deploy tests benchmarks
	$(BIN)/mypy geomcore dashboard deploy

test: lint
	$(BIN)/python -m pytest -n 2 --timeout 600 $(PYTEST_ARGS)

e2e: $(STAMP)
	$(BIN)/python -m pytest -m e2e -p no:xdist --timeout 600 tests/e2e

# The Home page's thumbnails (assets/<slug>.png) and the README's assets/home.png, drawn from
# each lab's default page in headless Chromium (needs Debian's chromium); commit the result.
assets: $(STAMP)
	$(BIN)/python -m deploy.make_assets

# The benchmarks' reference libraries are the tests' (installed with the stamp).
bench: $(STAMP)
	$(BIN)/python benchmarks/geometry.py
	$(BIN)/python benchmarks/optim.py
	$(BIN)/python benchmarks/symbolic.py
	$(BIN)/python benchmarks/embedding.py
	$(BIN)/python benchmarks/curvature.py
	$(BIN)/python benchmarks/riemannian.py
	$(BIN)/python benchmarks/latent.py
	$(BIN)/python benchmarks/duality.py
	$(BIN)/python benchmarks/worst_case.py
	$(BIN)/python benchmarks/dashboard.py
	$(BIN)/python benchmarks/serving.py cpu
	$(BIN)/python benchmarks/serving.py load --sessions 30 --seconds 60
	$(BIN)/python benchmarks/serving_faults.py all

clean:
	rm -rf $(VENV) test-artifacts .pytest_cache .ruff_cache .mypy_cache .hypothesis
