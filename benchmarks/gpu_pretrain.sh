#!/usr/bin/env bash
# GPU pretraining benchmark, one command, one table (see benchmarks/gpu_pretrain.py for what it measures):
#   bash benchmarks/gpu_pretrain.sh            one GPU, <= ~4 minutes: 1.5B (act. ckpt off/on) + 8B (layers that fit) + vLLM
#   bash benchmarks/gpu_pretrain.sh --dry      CPU smoke run: tiny model, 2 steps (the test runs this)
# Needs only the machine's python3 with torch, numpy, safetensors (vLLM optional); installs nothing.
# PYTHON picks the interpreter (default: python3).
set -euo pipefail
cd "$(dirname "$0")/.."
exec "${PYTHON:-python3}" benchmarks/gpu_pretrain.py "$@"
