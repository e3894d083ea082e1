"""Export the synth stage's prompts as an OpenAI-style batch job input, to generate with any provider.

    opc synth prompts --recipe recipes/opencoder-1.5b.yaml --output batch_input.jsonl
    (run the batch job elsewhere: its output JSONL has one answer per custom_id)
    stages.synth.teacher: {kind: responses, responses_path: batch_output.jsonl, requests_path: batch_input.jsonl}

One line per prompt the stage will send, in the stage's order: ``{"custom_id": "<generator>/<index>",
"method": "POST", "url": "/v1/chat/completions", "body": {"model", "messages", "max_tokens",
"temperature", "top_p"}}``. The prompts are exactly the stage's (``synth_stage.plan``), so the
responses backend finds every answer by its conversation. It needs the seed stages' outputs (data,
algorithmic) to exist; it sends nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

from opc_synth.config import SynthConfig


def write_batch_requests(cfg: SynthConfig, seed_uris: dict[str, str], seed: int, output: str | Path,
                         model: str | None = None) -> int:
    """Write the batch input file; returns the number of requests."""
    from opc_synth.synth_stage import plan

    items, _ = plan(cfg, seed_uris, seed)
    t = cfg.teacher
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8") as f:
        for x in items:
            body = {"model": model or t.model or "MODEL", "messages": x.request.as_messages(),
                    "max_tokens": t.max_new_tokens, "temperature": t.temperature, "top_p": t.top_p}
            f.write(json.dumps({"custom_id": x.request.id, "method": "POST", "url": "/v1/chat/completions",
                                "body": body}, ensure_ascii=False) + "\n")
    return len(items)
