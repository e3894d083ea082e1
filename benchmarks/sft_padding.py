"""SFT batching: what "no packing" costs, measured against packing on the same conversations (ratios reported).

Run on demand, never part of ``make test``:

    .venv/bin/python benchmarks/sft_padding.py [--sft-output work/sft1/<key>] [--micro 8] [--steps 6]

Conversations: the ``data/train.parquet`` of an sft stage output (default: built here from the
installed distributions' Python files with ``code_conversations``, tokenized with a small BPE trained on
them). For the tiny model shape (``model_configs["tiny"]``), on one CPU thread:

* ``padding_efficiency``: real tokens / computed tokens when every micro-batch pads its conversations to
  the longest (what ``sft_data.pad_batch`` does), in the loader's shuffled order.
* training-step time per *real* token, padded batches (ours) vs the named baseline: the same
  conversations packed back to back into full windows of the same width (what packing with document
  masks would compute; the mask itself is not applied here, so the baseline is a lower bound on the
  cost of packing). Reported as ratio = padded time per real token / packed time per real token.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch


def _examples_from_output(path: str):
    import pyarrow.parquet as pq

    from opc_core import storage
    from opc_train.sft_data import render_example
    from opc_train.tokenizer import load_tokenizer

    manifest = json.loads(storage.read_text(storage.join(path, "_MANIFEST.json")))
    tok = load_tokenizer(storage.join(manifest["inputs"]["tokens"]["uri"], "tokenizer"))
    rows = pq.read_table(storage.join(path, "data", "train.parquet")).to_pylist()
    return tok, [render_example(tok, json.loads(r["messages"])) for r in rows]


def _examples_built_here(max_len: int):
    from importlib.metadata import distribution
    from pathlib import Path

    from opc_train.code_conversations import conversations_from_code
    from opc_train.sft_data import render_example, truncate
    from opc_train.tokenizer import train_tokenizer

    rows = []
    for name in ("click", "Jinja2", "requests", "typer", "PyYAML", "markdown-it-py"):
        dist = distribution(name)
        for f in sorted(dist.files or [], key=str):
            if str(f).endswith(".py"):
                text = Path(str(dist.locate_file(f))).read_text(encoding="utf-8", errors="replace")
                rows.append({"repo_name": name, "path": str(f), "content": text, "program_lang": "Python"})
    tok = train_tokenizer([r["content"] for r in rows], vocab_size=4096)
    out = []
    for conv in conversations_from_code(rows):
        ex = truncate(render_example(tok, conv["messages"]), max_len, "truncate")
        if ex is not None:
            out.append(ex)
    return tok, out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--sft-output", default=None)
    p.add_argument("--micro", type=int, default=8)
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--max-len", type=int, default=256)
    args = p.parse_args()
    from opc_train.model import Transformer
    from opc_train.model_configs import get_model_config
    from opc_train.sft_data import SFTBatchLoader

    torch.set_num_threads(1)
    tok, examples = (_examples_from_output(args.sft_output) if args.sft_output
                     else _examples_built_here(args.max_len))
    pad = tok.token_to_id("<|pad|>")
    loader = SFTBatchLoader(examples, args.micro, pad, seed=0)
    batches = [loader.next_batch() for _ in range(args.steps)]
    real = sum(int((x != pad).sum()) for x, _ in batches)
    computed = sum(x.numel() for x, _ in batches)
    # the baseline: the same token stream packed into full rows of the longest width seen
    width = max(x.shape[1] for x, _ in batches)
    stream = torch.cat([x[x != pad] for x, _ in batches])
    n_rows = len(stream) // width
    packed_x = stream[: n_rows * width].view(n_rows, width)
    packed = [(packed_x[i:i + args.micro], packed_x[i:i + args.micro]) for i in range(0, n_rows, args.micro)]

    model = Transformer(get_model_config("tiny", vocab_size=int(np.ceil(tok.get_vocab_size() / 64) * 64),
                                         max_seq_len=max(256, width)))

    def step_time(bs) -> float:
        t0 = time.perf_counter()
        for x, y in bs:
            model(x, targets=y).backward()
        return time.perf_counter() - t0

    step_time(batches[:1])  # warm-up
    t_pad = min(step_time(batches) for _ in range(2))
    t_pack = min(step_time(packed) for _ in range(2))
    pad_per_tok, pack_per_tok = t_pad / real, t_pack / (n_rows * width)
    print(json.dumps({
        "conversations": len(examples), "micro_batch": args.micro, "steps": args.steps,
        "padding_efficiency": round(real / computed, 4), "real_tokens": real, "computed_tokens": computed,
        "padded_s_per_real_token": pad_per_tok, "packed_s_per_real_token": pack_per_tok,
        "ratio_padded_over_packed": round(pad_per_tok / pack_per_tok, 3),
    }, indent=1))


if __name__ == "__main__":
    main()
