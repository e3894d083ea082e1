"""Local engine: score the pool's input shards on a process pool (spawned workers), or inline.

Each shard is scored by ``scoring.score_shard_task`` (outputs first, then its stats marker), so a rerun
of a crashed stage skips finished shards. What it does NOT do: distribute across machines (Spark does).
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

from opc_recall.scoring import score_shard_task


def score_shards_local(out: str, shards: list[str], models_uri: str, config_json: str, workers: int) -> None:
    workers = workers or os.cpu_count() or 1
    if workers <= 1 or len(shards) <= 1:
        for shard in shards:
            score_shard_task(out, shard, models_uri, config_json)
        return
    with ProcessPoolExecutor(max_workers=min(workers, len(shards)), mp_context=get_context("spawn")) as pool:
        for f in [pool.submit(score_shard_task, out, s, models_uri, config_json) for s in shards]:
            f.result()
