# Anzhi — two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8501
OUT    ?= out/demo

.PHONY: run test gaps demo install install-test assets clean help

help:
	@echo "make run    create .venv, install, build the demo county, serve the app on it"
	@echo "make test   create/update .venv, install with test extras, run the whole suite"
	@echo "make gaps   batch job on the demo county: anzhi gaps --demo --out $(OUT)"
	@echo "make assets the map's browser libraries from the npm registry into static/vendor (offline map)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps re-run the install whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

# The map's browser libraries (Leaflet, jQuery, Bootstrap, Font Awesome, ...) come from the npm
# registry at install time (package-lock.json) and are served by the app itself from
# static/vendor, so the map draws with no internet (anzhi/ui/webassets.py).
NPM    ?= npm
ASSETS := static/vendor/manifest.json

$(ASSETS): package-lock.json anzhi/ui/webassets.py | $(VENV)/.installed
	$(NPM) ci --ignore-scripts --no-audit --no-fund
	printf '# written by make assets\n*\n' > node_modules/.gitignore
	$(BIN)/python -m anzhi.ui.webassets install node_modules

assets: $(ASSETS)
install: $(VENV)/.installed $(ASSETS)
install-test: $(VENV)/.installed-test $(ASSETS)

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
