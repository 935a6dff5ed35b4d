#!/usr/bin/env bash
# The quickstart, from this directory with gello's virtualenv active
# (`source .venv/bin/activate` at the repository's root puts `gello` and `python` on PATH).
set -euo pipefail
cd "$(dirname "$0")"
python dispatch.py
gello queue:work --app app --queue emails,default --stop-when-empty
gello queue:status
python -m pytest -q
