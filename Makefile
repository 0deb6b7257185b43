# Anzhi — two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8501
OUT    ?= out/demo

.PHONY: run test gaps demo install install-test assets deploy-assets notebooks constraints clean help

help:
	@echo "make run    create .venv, install, build the demo county, serve the app on it"
	@echo "make test   create/update .venv, install with test extras, run the whole suite"
	@echo "make gaps   batch job on the demo county: anzhi gaps --demo --out $(OUT)"
	@echo "make notebooks  install the notebooks extra (JupyterLab) and open notebooks/"
	@echo "make assets     refresh the shipped map libraries (anzhi/ui/vendor) from the npm registry (needs npm)"
	@echo "make constraints  rewrite constraints.txt from the versions installed in .venv"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps re-run the install whenever pyproject.toml or constraints.txt changes; constraints.txt
# pins every package to the versions CI ran with (`make constraints` rewrites it).
PIP := $(BIN)/python -m pip install --quiet -c constraints.txt

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e '.[test]'
	touch $@ $(VENV)/.installed

$(VENV)/.installed-notebooks: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) -e '.[notebooks]'
	touch $@ $(VENV)/.installed

# The map's browser libraries (Leaflet, jQuery, Bootstrap, Font Awesome, ...) ship as package
# data in anzhi/ui/vendor and are copied to static/vendor, which the app serves itself, so the
# map draws with no internet and installing needs no Node (anzhi/ui/webassets.py).
ASSETS := static/vendor/manifest.json

$(ASSETS): anzhi/ui/vendor/manifest.json | $(VENV)/.installed
	$(BIN)/python -m anzhi.ui.webassets deploy

deploy-assets: $(ASSETS)

# Only to refresh the shipped copy after changing package.json: takes the packages of
# package-lock.json from the npm registry.
NPM ?= npm
assets: | $(VENV)/.installed
	$(NPM) ci --ignore-scripts --no-audit --no-fund
	printf '# written by make assets\n*\n' > node_modules/.gitignore
	$(BIN)/python -m anzhi.ui.webassets install node_modules
	$(BIN)/python -m anzhi.ui.webassets deploy

install: $(VENV)/.installed $(ASSETS)
install-test: $(VENV)/.installed-test $(ASSETS)

constraints: | $(BIN)/python
	{ echo "# Versions CI ran with (make constraints; pip install -c constraints.txt)"; \
	  $(BIN)/python -m pip freeze --exclude-editable | grep -v '^anzhi'; } > constraints.txt

notebooks: $(VENV)/.installed-notebooks $(ASSETS)
	$(BIN)/jupyter lab notebooks/

demo: $(VENV)/.installed
	$(BIN)/anzhi demo

run: install demo
	@echo "Anzhi: serving the app on the demo county at http://localhost:$(PORT)"
	$(BIN)/streamlit run app.py --server.port $(PORT) --server.headless true --browser.gatherUsageStats false

test: install-test
	$(BIN)/python -m pytest

gaps: $(VENV)/.installed
	$(BIN)/anzhi gaps --demo --out $(OUT)

clean:
	rm -rf $(VENV) out build *.egg-info node_modules static/vendor
