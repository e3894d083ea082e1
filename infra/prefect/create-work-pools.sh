#!/usr/bin/env bash
# Create (or update) the two Kubernetes work pools from their base job templates:
#   opc-cpu  data, recall, algorithmic, tokenize, release, and the reproduce/retrain orchestrators
#   opc-gpu  pretrain, anneal, sft1, sft2 (8 GPUs), eval, eval_base, synth (1 GPU, vLLM)
# Needs PREFECT_API_URL pointing at the server (docs/cluster.md: a port-forward to prefect-server:4200).
# The templates are Prefect's Kubernetes default (prefect-kubernetes 0.8.0, `prefect work-pool
# get-default-base-job-template --type kubernetes`) plus our image, namespace, service account,
# credentials from Secrets, placement on the pool and, for opc-gpu, nvidia.com/gpu.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
prefect=${PREFECT:-prefect}
for pool in cpu gpu; do
  "$prefect" work-pool create "opc-$pool" --type kubernetes --overwrite \
    --base-job-template "$here/base-job-template-$pool.json"
done
"$prefect" work-pool ls
