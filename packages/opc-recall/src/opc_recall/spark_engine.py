"""Spark engine: score the pool's input shards as Spark tasks (one task per shard).

The task is the same ``scoring.score_shard_task`` the local engine runs: it reads its input shard and
the models from the output folder (a path every executor sees: local in ``local[*]``, s3:// on a
cluster) and writes its outputs and stats marker there. The recalled set is the local engine's (a test).
The session comes from opc-data's ``spark_session`` (one way to start Spark in the project).

What it does NOT do: read the pool sources on executors (the driver writes the input shards).
"""

from __future__ import annotations

from opc_recall.config import EngineConfig
from opc_recall.scoring import score_shard_task


def score_shards_spark(out: str, shards: list[str], models_uri: str, config_json: str, engine: EngineConfig) -> None:
    from opc_data.spark_engine import spark_session

    if not shards:
        return
    spark = spark_session(engine.spark_master, engine.spark_conf)
    rdd = spark.sparkContext.parallelize(shards, len(shards))
    rdd.map(lambda s: score_shard_task(out, s, models_uri, config_json)["shard"]).collect()
