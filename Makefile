# Two commands do everything on a fresh machine (see README):
#   make run   — set up, generate example files, ingest them, serve the SPARQL endpoint on 127.0.0.1
#   make test  — set up and run the whole test suite (what .ci/run calls)
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STORE  ?= battkg-data
PORT   ?= 8000

.PHONY: setup run test bench clean

$(BIN)/battkg: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	# Test-only: battery-data-toolkit writes the HDF5 files its reader is tested on. Without its dependencies:
	# its EMMOntoPy pins owlready2 < 0.50, and writing needs only what battkg already installs.
	$(BIN)/python -m pip install --quiet --no-deps 'battery-data-toolkit==0.4.6'
	@touch $(BIN)/battkg

setup: $(BIN)/battkg

run: setup
	$(BIN)/battkg demo generate demo-data
	$(BIN)/battkg ingest xrd demo-data/xrd/* --store $(STORE)
	$(BIN)/battkg ingest xrd --series demo-data/xrd-operando --store $(STORE)
	$(BIN)/battkg records list --store $(STORE)
	$(BIN)/battkg query --name experiments-by-technique --param technique=xrd --store $(STORE)
	$(BIN)/battkg serve --host 127.0.0.1 --port $(PORT) --store $(STORE)

test: setup
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python bench/ingest_xrd.py
	$(BIN)/python bench/ingest_series.py
	$(BIN)/python bench/ingest_spectra.py
	$(BIN)/python bench/ingest_cycling.py
	$(BIN)/python bench/ingest_md.py
	$(BIN)/python bench/finales.py
	$(BIN)/python bench/backends.py
	$(BIN)/python bench/endpoint.py

clean:
	rm -rf $(VENV) demo-data $(STORE) build dist *.egg-info
