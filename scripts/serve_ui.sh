#!/usr/bin/env bash
# `make ui`: a Prefect server on 127.0.0.1:$OPC_UI_PORT (default 4200; the UI at that address) and every
# deployment of the recipe served from this machine: reproduce, one per stage, and retrain on the recipe's
# cron. Every URL follows the port (the UI's own API address too). Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
RECIPE=${1:-recipes/tiny.yaml}
PORT=${OPC_UI_PORT:-4200}
export PREFECT_HOME=${PREFECT_HOME:-$PWD/work/.prefect-server}
export PREFECT_SERVER_ANALYTICS_ENABLED=false
export PREFECT_SERVER_API_HOST=127.0.0.1 PREFECT_SERVER_API_PORT="$PORT"
export PREFECT_UI_API_URL="http://127.0.0.1:$PORT/api"   # what /ui-settings tells the browser
echo "starting the Prefect server on 127.0.0.1:$PORT ..."
.venv/bin/prefect server start --host 127.0.0.1 --port "$PORT" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  if .venv/bin/python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$PORT/api/health', timeout=2)" 2>/dev/null; then break; fi
  sleep 1
done
echo "Prefect UI: open http://127.0.0.1:$PORT in your browser  (recipe: $RECIPE)"
export PREFECT_API_URL="http://127.0.0.1:$PORT/api"
.venv/bin/python -m flows.deployments --recipe "$RECIPE"
