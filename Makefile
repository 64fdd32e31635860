# DiffGeo Lab: `make run` starts the dashboard, `make test` runs lint and every test.
# Both create .venv on first use and install the project with the pinned versions in constraints.txt.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8501
PYTEST_ARGS ?=

.PHONY: install run test lint bench e2e clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/streamlit run dashboard/app.py --server.port $(PORT) --server.address localhost

lint: $(STAMP)
	$(BIN)/ruff check geomcore dashboard tests benchmarks

test: lint
	$(BIN)/python -m pytest -n 2 --timeout 600 $(PYTEST_ARGS)

e2e: $(STAMP)
	$(BIN)/python -m pytest -m e2e -p no:xdist --timeout 600 tests/e2e

# Reference libraries for the benchmarks only. BackPACK declares torchvision as a dependency but
# does not import it; installing it without deps avoids pulling a multi-GB CUDA build of torch.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[bench]'
	$(BIN)/python -m pip install --quiet --no-deps -c constraints.txt backpack-for-pytorch unfoldNd einops
	$(BIN)/python benchmarks/geometry.py
	@if [ -f benchmarks/optim.py ]; then $(BIN)/python benchmarks/optim.py; fi

clean:
	rm -rf $(VENV) test-artifacts .pytest_cache .ruff_cache .hypothesis
