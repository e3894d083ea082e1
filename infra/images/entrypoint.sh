#!/usr/bin/env bash
# Entrypoint of the opc-cpu and opc-gpu images. `executor` is how Spark-on-Kubernetes starts an executor
# pod of the data stage (the driver sets SPARK_* variables; the class is pyspark's own
# KubernetesExecutorBackend, the JVM is the image's Java 17); anything else runs as given
# (`opc run data ...`, `prefect flow-run execute`, `bash ...`).
set -euo pipefail
if [ "${1:-}" = executor ]; then
  spark_home=$(python -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')
  # shellcheck disable=SC2086  # SPARK_JAVA_OPT_* are separate words by design
  exec java $(env | grep '^SPARK_JAVA_OPT_' | sort -t_ -k4 -n | sed 's/^[^=]*=//') \
    -Xms"$SPARK_EXECUTOR_MEMORY" -Xmx"$SPARK_EXECUTOR_MEMORY" \
    -cp "${SPARK_CONF_DIR:-$spark_home/conf}:$spark_home/jars/*" \
    org.apache.spark.scheduler.cluster.k8s.KubernetesExecutorBackend \
    --driver-url "$SPARK_DRIVER_URL" --executor-id "$SPARK_EXECUTOR_ID" --cores "$SPARK_EXECUTOR_CORES" \
    --app-id "$SPARK_APPLICATION_ID" --hostname "$SPARK_EXECUTOR_POD_IP" \
    --resourceProfileId "$SPARK_RESOURCE_PROFILE_ID" --podName "$SPARK_EXECUTOR_POD_NAME"
fi
exec "$@"
