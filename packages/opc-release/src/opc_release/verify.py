"""``opc release verify``: check a released model directory the way a downstream user would load it.

    checksums    every file matches SHA256SUMS, nothing unlisted is present
    tokenizer    AutoTokenizer loads offline; code round-trips; apply_chat_template == our ChatML renderer
    load         AutoModelForCausalLM loads offline (fp32)
    logits       transformers' logits == our own model's on a fixed prompt (max abs diff <= 1e-4); our model
                 is the source checkpoint named in opc_release.json when it is reachable (then the exported
                 weights must also equal it exactly), else the release's own weights in our implementation
    generate     transformers greedily generates new tokens, each an argmax of our model's logits too

Everything runs on CPU in fp32 with ``HF_HUB_OFFLINE=1``: a release that needs the network to load is
broken. An s3:// release is downloaded to a temporary directory first. This module does not fix anything
it finds; it reports every check and the caller decides (the CLI exits non-zero unless all pass).
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from opc_core import storage

PROMPT = "def fibonacci(n):\n    \"\"\"Return the n-th Fibonacci number.\"\"\"\n"
CHAT = [{"role": "system", "content": "You are a helpful coding assistant."},
        {"role": "user", "content": "Write a function that reverses a string."}]
RELEASE_META = "opc_release.json"


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class VerifyReport:
    target: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def add(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append(Check(name, bool(ok), detail))
        return bool(ok)

    def lines(self) -> list[str]:
        out = [f"{'PASS' if c.ok else 'FAIL'}  {c.name}: {c.detail}" for c in self.checks]
        out.append(f"{'OK' if self.ok else 'FAILED'}: {sum(c.ok for c in self.checks)}/{len(self.checks)} checks "
                   f"passed for {self.target}")
        return out


def _reference_model(root: Path, reference_uri: str | None):
    """Our Transformer from the source checkpoint if reachable, else from the release's weights."""
    from opc_release.hf_export import load_weights, model_config_from_hf
    from opc_train.checkpoint import load_final
    from opc_train.model import Transformer

    if reference_uri is None and (root / RELEASE_META).exists():
        reference_uri = json.loads((root / RELEASE_META).read_text()).get("model", {}).get("uri")
    if reference_uri and storage.exists(storage.join(reference_uri, "final", "model_config.json")):
        model, _ = load_final(reference_uri)
        return model, f"source checkpoint {reference_uri}"
    config = model_config_from_hf(json.loads((root / "config.json").read_text()))
    model = Transformer(config)
    model.load_state_dict(load_weights(root), strict=True)
    return model.eval(), "the release's weights in opc_train.model (source checkpoint not reachable)"


def verify_release(dir_or_uri: str, reference_uri: str | None = None, new_tokens: int = 8,
                   tolerance: float = 1e-4) -> VerifyReport:
    """Run every check on a release directory (local or s3://); never raises for a failed check."""
    if storage.is_remote(dir_or_uri):
        with tempfile.TemporaryDirectory(prefix="opc-verify-") as tmp:
            storage.download_dir(dir_or_uri, tmp)
            report = _verify_local(Path(tmp), reference_uri, new_tokens, tolerance)
        report.target = dir_or_uri
        return report
    return _verify_local(Path(storage.normalize(dir_or_uri)), reference_uri, new_tokens, tolerance)


def _verify_local(root: Path, reference_uri: str | None, new_tokens: int, tolerance: float) -> VerifyReport:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    from opc_release.checksums import check_sums

    report = VerifyReport(str(root))
    if not root.is_dir():
        report.add("directory", False, "not a directory")
        return report
    problems = check_sums(root)
    n_files = len([p for p in root.rglob("*") if p.is_file()])
    report.add("checksums", not problems, "; ".join(problems[:5]) if problems else f"{n_files - 1} files match SHA256SUMS")

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # the report is the output; no loading bars in logs

    from opc_core.chat_template import render_chat

    try:
        hf_tok = AutoTokenizer.from_pretrained(str(root), local_files_only=True)
        ids = hf_tok(PROMPT)["input_ids"]
        round_trip = hf_tok.decode(ids, skip_special_tokens=True) == PROMPT
        chat_ids = hf_tok.apply_chat_template(CHAT, tokenize=True, add_generation_prompt=True)
        chat_ids = list(chat_ids["input_ids"] if hasattr(chat_ids, "keys") else chat_ids)
        ours = hf_tok(render_chat(CHAT, add_generation_prompt=True), add_special_tokens=False)["input_ids"]
        report.add("tokenizer", round_trip and chat_ids == ours,
                   f"AutoTokenizer loaded ({len(hf_tok)} tokens); round trip {'ok' if round_trip else 'BROKEN'}; "
                   f"apply_chat_template {'==' if chat_ids == ours else '!='} our ChatML renderer")
    except Exception as exc:  # noqa: BLE001 - every failure is a reported check, not a crash
        report.add("tokenizer", False, f"{type(exc).__name__}: {exc}")
        return report
    try:
        hf = AutoModelForCausalLM.from_pretrained(str(root), dtype=torch.float32, local_files_only=True).eval()
        report.add("load", True, f"{type(hf).__name__}, {sum(p.numel() for p in hf.parameters()):,} parameters, fp32")
    except Exception as exc:  # noqa: BLE001
        report.add("load", False, f"{type(exc).__name__}: {exc}")
        return report
    try:
        ours_model, source = _reference_model(root, reference_uri)
    except Exception as exc:  # noqa: BLE001
        report.add("logits", False, f"cannot build our model: {type(exc).__name__}: {exc}")
        return report
    idx = torch.tensor([ids], dtype=torch.long)
    with torch.no_grad():
        diff = (hf(input_ids=idx).logits - ours_model(idx)).abs().max().item()
    same_weights = all(torch.equal(t, hf.state_dict()[k]) for k, t in ours_model.state_dict().items())
    report.add("logits", diff <= tolerance and same_weights,
               f"max |transformers - ours| = {diff:.3g} on a {len(ids)}-token prompt (tolerance {tolerance:g}); "
               f"weights {'identical' if same_weights else 'DIFFER'} vs {source}")
    with torch.no_grad():
        out = hf.generate(idx, attention_mask=torch.ones_like(idx), max_new_tokens=new_tokens, do_sample=False,
                          pad_token_id=hf_tok.pad_token_id)
        new = out[0, idx.shape[1]:].tolist()
        ok = len(new) > 0
        if ok:
            logits = ours_model(out[:, :-1])[0, idx.shape[1] - 1 :]
            chosen = logits[torch.arange(len(new)), torch.tensor(new)]
            ok = bool((chosen >= logits.max(dim=-1).values - 2 * tolerance).all())
    report.add("generate", ok, f"{len(new)} greedy tokens {new}: {hf_tok.decode(new)!r}; "
               f"{'each is' if ok else 'NOT all are'} an argmax of our model too")
    return report
