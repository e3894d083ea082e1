"""The one ChatML renderer of the cookbook: SFT, eval (chat mode) and release all render chats here.

    [{"role": "user", "content": "Write fib"}]  ─▶  "<|im_start|>user\\nWrite fib<|im_end|>\\n"
                                                    (+ "<|im_start|>assistant\\n" with a generation prompt)

Two faces of the same format:

* ``CHAT_TEMPLATE``: the Jinja string stored in ``tokenizer_config.json`` so that
  ``transformers``' ``apply_chat_template`` renders chats exactly as we do;
* ``render_chat``: plain Python, no Jinja, so training and eval code do not depend on transformers.

A test checks that both give identical token ids. OpenCoder's chat format is ChatML with
``<|im_start|>`` / ``<|im_end|>``; unlike OpenCoder-Instruct we insert no default system prompt (the
model is ours, not OpenCoder). Roles are ordinary text after ``<|im_start|>``, not special tokens.
It lives in opc-core (no torch, no transformers) so every consumer can import it: opc-train (tokenizer,
SFT), opc-eval (chat prompts), opc-release (tokenizer_config). This module does not tokenize and does
not build loss masks beyond ``assistant_spans`` (token masks: ``opc_train.sft_data``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from opc_core.errors import OpcError

IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
ROLES = ("system", "user", "assistant", "tool")

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def _check(messages: Sequence[Mapping[str, str]]) -> None:
    for i, message in enumerate(messages):
        role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            raise OpcError(f"chat message {i} has role {role!r}; ChatML roles are {', '.join(ROLES)}")
        if not isinstance(content, str):
            raise OpcError(f"chat message {i} ({role}) has no text content (got {type(content).__name__})")


def render_turn(role: str, content: str) -> str:
    return f"{IM_START}{role}\n{content}{IM_END}\n"


def render_chat(messages: Sequence[Mapping[str, str]], add_generation_prompt: bool = False) -> str:
    """Render ``messages`` as ChatML text, identical to ``CHAT_TEMPLATE``; no tokens are added or removed."""
    _check(messages)
    text = "".join(render_turn(m["role"], m["content"]) for m in messages)
    if add_generation_prompt:
        text += f"{IM_START}assistant\n"
    return text


def assistant_spans(messages: Sequence[Mapping[str, str]]) -> tuple[str, list[tuple[int, int]]]:
    """The rendered text and the character spans an SFT loss is computed on.

    Each span covers an assistant message's content plus its closing ``<|im_end|>`` (the model must
    learn to stop), not the ``<|im_start|>assistant\\n`` header the prompt already contains.
    """
    _check(messages)
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    for m in messages:
        header = f"{IM_START}{m['role']}\n"
        body = f"{m['content']}{IM_END}"
        if m["role"] == "assistant":
            spans.append((pos + len(header), pos + len(header) + len(body)))
        turn = header + body + "\n"
        parts.append(turn)
        pos += len(turn)
    return "".join(parts), spans
