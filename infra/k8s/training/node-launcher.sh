#!/usr/bin/env bash
# One node of a multi-node pretraining run: the pod command of the JobSet in pretrain-jobset.yaml.
#
# Node 0 runs the real pretrain stage (`opc run pretrain`): it resolves the recipe and the tokenize output,
# writes the job file (model config, settings, token paths, run dir) into its scratch folder and launches
# torchrun for its GPUs; afterwards it uploads the run to the stage output on S3 and writes the manifest.
# Every other node waits for that job file and runs torchrun on it. All nodes' torchrun join one c10d
# rendezvous on node 0's stable DNS name (the JobSet's headless service) through torchrun's PET_* variables,
# so the stage's own launcher becomes node 0 of an N-node group without code changes. Elastic restarts:
# torchrun restarts a failed local worker group up to OPC_MAX_RESTARTS times (all nodes re-rendezvous and
# the loop resumes from the latest checkpoint in the shared run dir); the JobSet recreates all pods on a
# pod failure (failurePolicy.maxRestarts), a new restart attempt with its own scratch folder: that attempt
# trains from the start (the stage's run dir is per run; resuming across pod restarts needs opc-train).
#
# The scratch folder (TMPDIR) must be the same shared filesystem on every node (a ReadWriteMany volume):
# the job file, the downloaded token shards and the run dir (checkpoints) live there. The finished run
# goes to the stage output under the recipe's s3:// workdir.
#
# Environment: OPC_NNODES, OPC_PROCS_PER_NODE, OPC_NODE_INDEX (the Indexed Job's completion index),
# OPC_RDZV_HOST (node 0's DNS name), OPC_RDZV_PORT, OPC_SHARED (the shared mount), OPC_ATTEMPT (the JobSet
# restart attempt), OPC_RECIPE, OPC_WORKDIR; optional OPC_MAX_RESTARTS (3), OPC_JOB_WAIT_S (7200).
# Extra arguments go to `opc run pretrain` on node 0 (recipe overrides).
set -euo pipefail
: "${OPC_NNODES:?}" "${OPC_PROCS_PER_NODE:?}" "${OPC_NODE_INDEX:?}" "${OPC_RDZV_HOST:?}" "${OPC_SHARED:?}"
: "${OPC_RECIPE:?}" "${OPC_WORKDIR:?}"
attempt=${OPC_ATTEMPT:-0}
export TMPDIR="$OPC_SHARED/attempt-$attempt"
mkdir -p "$TMPDIR"
export PET_NNODES="$OPC_NNODES"
export PET_RDZV_BACKEND=c10d
export PET_RDZV_ENDPOINT="$OPC_RDZV_HOST:${OPC_RDZV_PORT:-29400}"
export PET_RDZV_ID="opc-pretrain-$attempt"
export PET_MAX_RESTARTS="${OPC_MAX_RESTARTS:-3}"
python=${OPC_PYTHON:-python}

if [ "$OPC_NODE_INDEX" = 0 ]; then
  export PET_RDZV_CONF=is_host=true
  rc=0
  opc run pretrain --recipe "$OPC_RECIPE" "workdir=$OPC_WORKDIR" "pretrain.nproc=$OPC_PROCS_PER_NODE" "$@" || rc=$?
  echo "$rc" > "$TMPDIR/node0.exit"   # tells waiting nodes about a cache hit or an early failure
  exit "$rc"
fi

export PET_RDZV_CONF=is_host=false
deadline=$(( $(date +%s) + ${OPC_JOB_WAIT_S:-7200} ))
job=""
while [ -z "$job" ]; do
  job=$(ls -t "$TMPDIR"/opc-pretrain-*/job.json 2>/dev/null | head -n 1 || true)
  if [ -n "$job" ] && ! "$python" -c 'import json, sys; json.load(open(sys.argv[1]))' "$job" 2>/dev/null; then
    job=""   # still being written
  fi
  if [ -z "$job" ] && [ -f "$TMPDIR/node0.exit" ]; then
    rc=$(cat "$TMPDIR/node0.exit")
    echo "node $OPC_NODE_INDEX: node 0 finished (exit $rc) without a job for this node (cache hit or error)" >&2
    exit "$rc"
  fi
  if [ -z "$job" ]; then
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "node $OPC_NODE_INDEX: no job file under $TMPDIR/opc-pretrain-*/ after ${OPC_JOB_WAIT_S:-7200}s;" \
           "node 0 writes it once tokens are downloaded: check node 0's log" >&2
      exit 1
    fi
    sleep 2
  fi
done
echo "node $OPC_NODE_INDEX: joining $PET_RDZV_ENDPOINT with $job" >&2
exec "$python" -m torch.distributed.run --nproc-per-node "$OPC_PROCS_PER_NODE" -m opc_train.distributed "$job"
