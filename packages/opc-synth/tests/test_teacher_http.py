"""The teacher over real HTTP: ``opc serve``'s server (``opc_eval.serve.make_server``) on loopback.

The served model is a responses backend wrapped to count, *at the server*, the requests it receives and
the answers it produces. A synth run in a child process is SIGKILLed while a request is in flight (the
server holds it; after the kill it fails, as a server does when its client is gone): every prompt is then
answered exactly once across the killed run and the resumed one (zero repeated answers; the prompt that
was in flight is the one request received twice), and a third run sends nothing at all.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections import Counter

from opc_eval.backends.base import Backend

CHILD = textwrap.dedent('''
    import json, logging, sys
    from opc_core.manifest import Manifest
    from opc_core.stage import StageContext
    from opc_synth.config import SynthConfig
    from opc_synth.synth_stage import STAGE
    a = json.loads(sys.argv[1])
    data = Manifest(stage="data", key="k", uri=a["data"], fingerprint="fp", code_version="c", created="t")
    import pathlib
    out = pathlib.Path(a["workdir"]) / "synth" / "key"; out.mkdir(parents=True, exist_ok=True)
    scratch = pathlib.Path(a["workdir"]) / ("scratch-" + a["tag"]); scratch.mkdir(exist_ok=True)
    ctx = StageContext(stage="synth", key="key", output_uri=str(out), workdir=a["workdir"], seed=3,
                       recipe_name="t", recipe={}, inputs={"data": data}, scratch=scratch, log=logging.getLogger("t"))
    r = STAGE.run(SynthConfig.model_validate(a["cfg"]), ctx)
    print(json.dumps(r.metrics["requests"]))
''')


class Counting(Backend):
    """Answers from a responses backend; counts requests received and answered, can hold one in flight."""

    def __init__(self, inner: Backend, hold_after: int | None) -> None:
        self.inner = inner
        self.received: Counter[str] = Counter()
        self.answered: Counter[str] = Counter()
        self.hold_after = hold_after
        self.holding = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()

    def complete(self, prompts, params):
        raise AssertionError("the teacher uses chat")

    def chat(self, conversations, params):
        key = json.dumps(conversations[0], sort_keys=True)
        with self.lock:
            self.received[key] += 1
            n = sum(self.received.values())
        if self.hold_after is not None and n > self.hold_after:
            self.holding.set()
            self.release.wait(60)
            raise RuntimeError("client gone")  # the server answers 500 to a socket nobody reads
        out = self.inner.chat(conversations, params)
        with self.lock:
            self.answered[key] += 1
        return out


def _cfg(base_url: str, concurrency: int = 1) -> dict:
    return {"teacher": {"kind": "openai", "base_url": base_url, "model": "served", "max_concurrency": concurrency,
                        "max_retries": 0, "timeout_s": 30},
            "generators": [{"name": "hq_snippets", "count": 3}, {"name": "educational_instruct", "count": 8},
                           {"name": "textbooks", "count": 2}],
            "exec": {"timeout_s": 2.0, "workers": 2}, "dedup": {"num_perm": 64, "bands": 16, "rows": 4}}


def _child(args: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_killed_run_resumes_without_repeating_answered_requests(tmp_path, seed_data, responses_file):
    from opc_eval.backends import make_backend
    from opc_eval.serve import make_server

    counting = Counting(make_backend("responses", path=str(responses_file)), hold_after=5)
    server = make_server(counting, "served", port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    args = {"data": str(seed_data), "workdir": str(tmp_path), "cfg": _cfg(base_url), "tag": "a"}
    try:
        first = _child(args)
        assert counting.holding.wait(120), first.stderr.read() if first.poll() is not None else "no request held"
        os.kill(first.pid, signal.SIGKILL)  # killed with the 6th request in flight
        first.wait(30)
        counting.hold_after = None
        counting.release.set()
        assert sum(counting.received.values()) == 6 and sum(counting.answered.values()) == 5
        first_run = set(counting.received)
        before = Counter(counting.received)

        second = _child({**args, "tag": "b"})
        out, err = second.communicate(timeout=300)
        assert second.returncode == 0, err
        assert json.loads(out.splitlines()[-1]) == {"total": 13, "cache_hits": 5, "sent": 8}
        resumed = counting.received - before
        assert len(counting.answered) == 13 and set(counting.answered.values()) == {1}  # zero repeated answers
        assert sum(counting.received.values()) == 14  # 13 prompts + the one in flight at the kill, sent again
        assert len(set(resumed) & first_run) == 1

        third = _child({**args, "tag": "c"})
        out, err = third.communicate(timeout=300)
        assert third.returncode == 0, err
        assert json.loads(out.splitlines()[-1]) == {"total": 13, "cache_hits": 13, "sent": 0}
        assert sum(counting.received.values()) == 14 and sum(counting.answered.values()) == 13  # nothing sent
    finally:
        counting.release.set()
        server.shutdown()
        server.server_close()
