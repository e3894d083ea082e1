"""Reading a teacher's answer: ``### Section`` headings and fenced code blocks.

Every template asks for its answer under fixed headings (``### Instruction``, ``### Solution``,
``### Tests``, ...). ``sections`` splits an answer at those headings; ``code_block`` takes the first
fenced block of a section (or the section itself when the teacher forgot the fence);
``fenced_blocks`` lists (language tag, code) of every block, for the language and syntax checks.
"""

from __future__ import annotations

import re

_HEADING = re.compile(r"^\s{0,3}#{2,4}\s*([A-Za-z][A-Za-z ]{0,30}?)\s*:?\s*$", re.MULTILINE)
_FENCE = re.compile(r"```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)


def sections(text: str) -> dict[str, str]:
    """Lower-cased heading -> the text under it (the first occurrence of a heading wins)."""
    out: dict[str, str] = {}
    matches = list(_HEADING.finditer(text or ""))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        out.setdefault(m.group(1).strip().lower(), text[m.end():end].strip("\n"))
    return out


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    return [(m.group(1).lower(), m.group(2).rstrip()) for m in _FENCE.finditer(text or "")]


def code_block(section: str | None) -> str | None:
    if section is None:
        return None
    blocks = fenced_blocks(section)
    code = blocks[0][1] if blocks else section.strip()
    return code if code.strip() else None


def python_compiles(code: str) -> str | None:
    """None when ``code`` compiles, else a short syntax-error text."""
    try:
        compile(code, "<answer>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as e:
        return f"line {getattr(e, 'lineno', '?')}: {getattr(e, 'msg', e)}"
    return None
