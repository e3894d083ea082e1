"""opc-eval: code benchmarks (HumanEval(+), MBPP(+), LeetCode, BigCodeBench-Hard), sandboxed scoring,
unbiased pass@k, generation backends, and the ``eval`` stage.

    opc eval score --benchmark humaneval --samples samples.jsonl --output out/   # no model needed
    opc run eval --recipe recipes/tiny.yaml                                      # generate + score
    opc serve --model <pretrain output> --tokenizer <tokenizer dir>              # OpenAI-compatible API

Importing this package does not import torch or transformers (scoring runs without them).
"""

from opc_eval.pass_at_k import pass_at_k

__all__ = ["pass_at_k"]
