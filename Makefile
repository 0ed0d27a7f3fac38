# Shortcuts for developers; README's quick start needs only Python.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test lint bench lock ci
setup:
	python3 -m venv $(VENV) && $(VENV)/bin/pip install -q -c requirements.lock -e '.[test,dev,bench]'
demo:
	$(VENV)/bin/casewarden demo
test:
	$(PY) -m pytest -q
lint:
	$(VENV)/bin/ruff check . && $(VENV)/bin/mypy
bench:
	$(PY) -m benchmarks
lock:
	uv pip compile pyproject.toml --extra test --extra dev --extra bench --python-version 3.11 -o requirements.lock
ci:
	rm -rf ../ci-check && git clone -q . ../ci-check && (cd ../ci-check && bash .ci/run)
