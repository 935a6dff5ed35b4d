#!/usr/bin/env bash
# The whole test suite, exactly as the README runs it: a virtualenv, the package with its
# test extras, lint, types, then pytest with coverage (fails under 80 %).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/pytest --cov --cov-report=term "$@"
