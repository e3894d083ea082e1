"""Synth throughput: samples validated per second per core (sandbox vs a plain subprocess), and teacher
requests per second against a local OpenAI-compatible server at concurrency 32.

    .venv/bin/python benchmarks/synth_throughput.py [--samples 120] [--workers 2] [--requests 256] [--server-latency-ms 0]

1. Validation. The same programs (real MBPP solutions + their tests, from ../shared/data/eval) run
   (a) through ``opc_synth.validate`` (opc_sandbox pool: namespaces, uid switch, nonce verdict) and
   (b) the naive baseline: ``subprocess.run([python, "-c", program])`` in a thread pool of the same size,
   verdict = exit code 0 (what the sandbox exists to avoid trusting). Reported: samples/s/core of each and
   the ratio sandbox / baseline, plus whether both agree on which samples pass.
2. Requests. ``opc serve``'s HTTP server (``opc_eval.serve.make_server``) over a responses backend (no
   model time: this measures the client + HTTP path), driven by the teacher's openai backend with
   max_concurrency 32 vs 1; reported: requests/s of each and the ratio. ``opc serve`` answers one request
   at a time (a lock around its one model), so against it concurrency mostly overlaps HTTP overhead;
   a batching server (vLLM) is where 32 in flight pays. Measured 2026-12-04 on 2 loaded cores (load ~7):
   --samples 60: sandbox 23.8 samples/s/core vs plain subprocess 2.45 (ratio 9.7, same 60/60 verdicts;
   the fork-server pool skips interpreter start-up); --requests 128: 142 req/s at concurrency 1, 78 at 32
   (no server latency); with --server-latency-ms 50: 15.6 vs 17.6 req/s (the server's lock).
Prints one JSON object. Not part of ``make test``; numbers depend on machine load (say how loaded it was).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("OPC_SHARED_DIR", REPO.parent / "shared"))


def _mbpp_samples(n: int):
    from opc_synth.validate import Sample

    rows = [json.loads(line) for line in gzip.open(SHARED / "data" / "eval" / "mbpp.jsonl.gz", "rt")]
    return [Sample(str(r["task_id"]), r["test_setup_code"] + "\n" + r["code"], "\n".join(r["test_list"]))
            for r in rows[:n]]


def bench_validation(n: int, workers: int) -> dict:
    from opc_synth.validate import program_source, validate

    samples = _mbpp_samples(n)
    t0 = time.perf_counter()
    verdicts = validate(samples, timeout_s=3.0, workers=workers)
    sandbox_s = time.perf_counter() - t0

    def plain(s) -> bool:
        try:
            r = subprocess.run([sys.executable, "-c", program_source(s)], capture_output=True, timeout=3.0)
        except subprocess.TimeoutExpired:
            return False
        return r.returncode == 0

    t0 = time.perf_counter()
    with ThreadPoolExecutor(workers) as ex:
        baseline = list(ex.map(plain, samples))
    plain_s = time.perf_counter() - t0
    agree = sum(v.passed == b for v, b in zip(verdicts, baseline, strict=True))
    return {"samples": n, "workers": workers, "sandbox_s": round(sandbox_s, 2), "subprocess_s": round(plain_s, 2),
            "sandbox_per_s_per_core": round(n / sandbox_s / workers, 2),
            "subprocess_per_s_per_core": round(n / plain_s / workers, 2),
            "ratio_sandbox_over_subprocess": round((n / sandbox_s) / (n / plain_s), 3),
            "passed_sandbox": sum(v.passed for v in verdicts), "passed_subprocess": sum(baseline), "agree": agree}


def bench_requests(n: int, latency_ms: float) -> dict:
    from opc_eval.backends import Backend, GenParams, make_backend
    from opc_eval.serve import make_server

    class Slow(Backend):
        """The responses backend plus a fixed per-request latency (a stand-in for model time)."""

        def __init__(self, inner):
            self.inner = inner

        def complete(self, prompts, params):
            return self.inner.complete(prompts, params)

        def chat(self, conversations, params):
            time.sleep(latency_ms / 1000)
            return self.inner.chat(conversations, params)

    d = Path(tempfile.mkdtemp(prefix="opc-bench-synth-"))
    convs = [[{"role": "user", "content": f"question {i}"}] for i in range(n)]
    with open(d / "answers.jsonl", "w") as f:
        for c in convs:
            f.write(json.dumps({"messages": c, "response": "x" * 400}) + "\n")
    server = make_server(Slow(make_backend("responses", path=str(d / "answers.jsonl"))), "bench", port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    out = {"requests": n, "server_latency_ms": latency_ms}
    try:
        for conc in (1, 32):
            client = make_backend("openai", base_url=url, model="bench", max_concurrency=conc)
            t0 = time.perf_counter()
            answers = client.chat(convs, GenParams(max_new_tokens=16))
            dt = time.perf_counter() - t0
            assert all(a == ["x" * 400] for a in answers)
            out[f"requests_per_s_concurrency_{conc}"] = round(n / dt, 1)
        out["ratio_32_over_1"] = round(out["requests_per_s_concurrency_32"] / out["requests_per_s_concurrency_1"], 2)
    finally:
        server.shutdown()
        server.server_close()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=120)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--requests", type=int, default=256)
    p.add_argument("--server-latency-ms", type=float, default=0.0,
                   help="per-request sleep in the server (0: the HTTP path alone; opc serve generates one at a time)")
    a = p.parse_args()
    result = {"load_avg_1m_before": round(os.getloadavg()[0], 2), "cpus": os.cpu_count(),
              "validation": bench_validation(a.samples, a.workers), "teacher_http": bench_requests(a.requests, a.server_latency_ms)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
