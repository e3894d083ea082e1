#!/usr/bin/env bash
# `make ui`: a Prefect server on 127.0.0.1:$OPC_UI_PORT (default 4200; the UI at that address) and every
# deployment of the recipe served from this machine: reproduce, one per stage, and retrain on the recipe's
# cron. Every URL follows the port (the UI's own API address too). flows/ui.py supervises both: Ctrl-C stops
# them (a second Ctrl-C kills them), and they die with it.
set -euo pipefail
cd "$(dirname "$0")/.."
RECIPE=${1:-recipes/tiny.yaml}
PORT=${OPC_UI_PORT:-4200}
export PREFECT_HOME=${PREFECT_HOME:-$PWD/work/.prefect-server}
export PREFECT_SERVER_ANALYTICS_ENABLED=false
export PREFECT_SERVER_API_HOST=127.0.0.1 PREFECT_SERVER_API_PORT="$PORT"
export PREFECT_UI_API_URL="http://127.0.0.1:$PORT/api"   # what /ui-settings tells the browser
exec .venv/bin/python -m flows.ui --recipe "$RECIPE" --port "$PORT"
