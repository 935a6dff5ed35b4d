#!/usr/bin/env bash
# The report example, from this directory with gello's virtualenv active: a worker in the
# background takes the report that poll.py dispatches and follows to its result.
set -euo pipefail
cd "$(dirname "$0")"
gello queue:work --app report --queue reports --max-jobs 1 &
worker=$!
python poll.py
wait "$worker"
