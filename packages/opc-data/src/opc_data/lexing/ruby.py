"""Comment spans of Ruby source as Pygments' RubyLexer (2.18) classifies them.

Comments are ``#`` to the end of the line (and a ``#!`` first line) and ``=begin ... =end`` blocks. To
know which ``#`` is a comment, the scanner skips what Pygments' Ruby lexer treats as strings, following
its rules rather than Ruby's grammar:

* ``"..."``, ``'...'`` and ``\\`...\\``` with ``#{...}`` interpolation (Pygments interpolates even in
  single-quoted strings; interpolated code is scanned as code, comments included), ``:"..."`` and
  ``:'...'`` symbols, ``?c`` character literals, ``$"``-style globals;
* regular expressions: a ``/`` opens one after ``= < > ~ ! :``, at a line start, after ``( , [``,
  after ``when/or/and/if/elsif`` and ``.sub/.gsub/.scan/.index/.match`` plus a space, or after
  whitespace when the next character is not whitespace or ``=``; after a number it is a division;
* ``%`` literals (``%w[...]``, ``%Q{...}`` with nesting, ``%r|...|``, ``%|...|``, ...) in the lexer's
  order, including its readings of ``%=`` and ``% `` as literals;
* heredocs (``<<ID``, ``<<-ID``, ``<<~ID``, quoted ids): the rest of the opening line is code, the
  body lines up to the terminator are string; an unterminated body runs to the end;
* ``__END__``: everything after it is code (Comment.Preproc for Pygments).

Known simplification (rare in working code): a string left open at the end of a heredoc's opening
line is closed there (Pygments would carry its state into the body).

What it does NOT do: tokenize Ruby.
"""

from __future__ import annotations

import re

from opc_data.lexing.lookahead import Lookahead

__all__ = ["ruby_spans", "ruby_split"]

Spans = list[tuple[int, int]]

_OPERATORS = ("[]=", "===", "<=>", "**", "-@", "+@", "[]", "<<", ">>", "<>", ">=", "==",
              "*", "-", "+", "/", "%", "&", "|", "^", "`", "~", "<", ">")
_EVENT = re.compile(
    r"(?P<hash>\#)|(?P<begin>=begin\s)|(?P<end>(?<!\w)__END__)"
    r"|(?P<heredoc>(?<!\w)<<[-~]?(?P<hq>[\"`']?)(?P<hname>[a-zA-Z_]\w*)(?P=hq))"
    r"|(?P<eheredoc><<[-~]?(?P<eq>[\"'])(?P=eq))"
    r"|(?P<dq>\")|(?P<sq>')|(?P<bt>`)|(?P<colon>:)|(?P<pct>%)|(?P<slash>/)|(?P<q>\?)|(?P<dollar>\$)"
)
_EVENT_INTP = re.compile(_EVENT.pattern + r"|(?P<lb>\{)|(?P<rb>\})")
_BEGIN_BLOCK = re.compile(r"(?s)=begin\s.*?\n=end[^\n]*")
_REGEX_CONTEXT = re.compile(
    r"(?m)(?:^|(?<=[=<>~!:])|(?<=(?:\s|;)when\s)|(?<=(?:\s|;)or\s)|(?<=(?:\s|;)and\s)|(?<=\.index\s)"
    r"|(?<=\.scan\s)|(?<=\.sub\s)|(?<=\.sub!\s)|(?<=\.gsub\s)|(?<=\.gsub!\s)|(?<=\.match\s)"
    r"|(?<=(?:\s|;)if\s)|(?<=(?:\s|;)elsif\s)|(?<=^when\s)|(?<=^index\s)|(?<=^scan\s)|(?<=^sub\s)"
    r"|(?<=^gsub\s)|(?<=^sub!\s)|(?<=^gsub!\s)|(?<=^match\s)|(?<=^if\s)|(?<=^elsif\s))(\s*)/"
)
_SYMBOL_QUOTED = re.compile(r":'(?:\\\\|\\[^\\]|[^'\\])*'")
_SYMBOL = re.compile(r":@{0,2}[a-zA-Z_]\w*[!?]?|:(?:" + "|".join(re.escape(o) for o in _OPERATORS) + ")")
_CHAR = re.compile(r"\?(?:\\[MC]-)*(?:\\(?:[\\abefnrstv#\"']|x[a-fA-F0-9]{1,2}|[0-7]{1,3})|\S)(?!\w)")
_GLOBAL = re.compile(r"\$(?:\w+|[!@&`'+~=/\\,;.<>_*$?:\"^-]|-[0adFiIlpvw])")
_ESCAPE = re.compile(r"\\(?:[\\abefnrstv#\"']|x[a-fA-F0-9]{1,2}|[0-7]{1,3})")
_INTP_VAR = re.compile(r"#(?:@@?|\$)[a-zA-Z_]\w*")
_BRACKETS = {"{": "}", "[": "]", "(": ")", "<": ">"}
_PCT_BRACKET = re.compile(r"%(?P<kind>[QWx]?|[qsw]|r)(?P<open>[{\[(<])")
# (pattern, interpolating): the content of interpolating ones is group "body"
_PCT_OTHER = (
    (re.compile(r"(?s)%r([\W_])(?P<body>(?:\\\1|(?!\1).)*)\1[mixounse]*"), True),
    (re.compile(r"(?s)%[qsw]([\W_])(?P<body>(?:\\\1|(?!\1).)*)\1"), False),
    (re.compile(r"(?s)%[QWx]([\W_])(?P<body>(?:\\\1|(?!\1).)*)\1"), True),
)
_PCT_SPACE = re.compile(r"(?s)(?<=[-+/*%=<>&!^|~,(])\s*%([\t ])(?:\\\1|(?!\1).)*\1")
_PCT_SPACE_LINE = re.compile(r"(?sm)^\s*%([\t ])(?:\\\1|(?!\1).)*\1")
_PCT_PUNCT = re.compile(r"(?s)%([^a-zA-Z0-9\s])(?P<body>(?:\\\1|(?!\1).)*)\1")
_DEF_BEFORE = re.compile(r"(?<![:.\w])def\s+$")
_WS = " \t\n\r\x0b\x0c"


MAX_NESTING = 150  # interpolation levels; real code nests a few, deeper input goes to Pygments


class TooDeep(Exception):
    """Interpolations nest deeper than MAX_NESTING (the caller falls back to Pygments)."""


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.n = len(text)
        self.spans: Spans = []
        self.la = Lookahead(text)
        self.heredocs: list[tuple[bool, str]] = []
        # Pygments emits the lines after an unterminated heredoc twice: once as Error tokens (code),
        # then lexed normally. (position, end): text[position:end] is inserted as code at position.
        self.repeats: list[tuple[int, int]] = []
        self.depth = 0

    # --- helpers ------------------------------------------------------------------------------------
    def _after_number(self, w: int) -> bool:
        """Does a number token end at ``w`` (Pygments' number rule then eats ``\\s*[/?]``)?"""
        t = self.text
        if w == 0 or not t[w - 1].isdigit():
            return False
        k = w - 1
        while k > 0 and (t[k - 1].isalnum() or t[k - 1] == "_"):
            k -= 1
        return t[k].isdigit()

    def _after_identifier(self, s: int) -> bool:
        """Does an identifier (not a number) end right before ``s``?"""
        t = self.text
        if s == 0 or not (t[s - 1].isalnum() or t[s - 1] == "_"):
            return False
        k = s - 1
        while k > 0 and (t[k - 1].isalnum() or t[k - 1] == "_"):
            k -= 1
        return not t[k].isdigit()

    def _ws_start(self, s: int, floor: int = 0) -> int:
        """Start of the whitespace run before ``s`` that is not part of an earlier token (>= floor)."""
        t = self.text
        w = s
        while w > floor and t[w - 1] in _WS:
            w -= 1
        return w

    # --- strings ------------------------------------------------------------------------------------
    def _string(self, pos: int, close: str, end: int, *, intp: bool = True, nest: str = "") -> int:
        """Scan a string body from ``pos`` up to its closing ``close`` (nesting ``nest`` opener)."""
        t = self.text
        specials = "\\#" + close + nest
        depth = 0
        while pos < end:
            c = t[pos]
            if c not in specials:
                nxt = min((i for i in (t.find(ch, pos, end) for ch in specials) if i >= 0), default=end)
                pos = nxt
                continue
            if c == "\\":
                if nest:  # bracket literals escape only backslash and the brackets
                    pos += 2 if t[pos + 1 : pos + 2] in ("\\", close, nest) and pos + 1 < end else 1
                else:
                    m = _ESCAPE.match(t, pos, end)
                    pos = m.end() if m else pos + 1
            elif c == "#":
                if intp and t.startswith("#{", pos):
                    pos = self._nested(pos + 2, end)
                else:
                    m = _INTP_VAR.match(t, pos, end) if intp else None
                    pos = m.end() if m else pos + 1
            elif nest and c == nest:
                depth += 1
                pos += 1
            else:  # closing character
                pos += 1
                if depth == 0:
                    return pos
                depth -= 1
        return end

    def _regex(self, pos: int, end: int) -> int:
        """Scan a /regex/ body from after its opening slash."""
        t = self.text
        while pos < end:
            c = t[pos]
            if c not in "\\/#":
                nxt = min((i for i in (t.find(ch, pos, end) for ch in "\\/#") if i >= 0), default=end)
                pos = nxt
                continue
            if c == "\\":
                pos += 2 if t[pos + 1 : pos + 2] in ("\\", "/") else 1
            elif c == "#":
                if t.startswith("#{", pos):
                    pos = self._nested(pos + 2, end)
                else:
                    m = _INTP_VAR.match(t, pos, end)
                    pos = m.end() if m else pos + 1
            else:
                pos += 1
                while pos < end and t[pos] in "mixounse":
                    pos += 1
                return pos
        return end

    def _percent(self, s: int, end: int, floor: int) -> int:
        """A % literal at ``s``; returns the position after it, or s + 1 for the operator."""
        t = self.text
        if s > 0 and t[s - 1] == ".":
            return s + 1  # a method named %
        m = _PCT_BRACKET.match(t, s, end)
        if m:
            kind, opener = m.group("kind"), m.group("open")
            closer = _BRACKETS[opener]
            if kind == "r":
                p = self._string(m.end(), closer, end, intp=True, nest=opener)
                while p < end and t[p] in "mixounse":
                    p += 1
                return p
            return self._string(m.end(), closer, end, intp=kind in ("", "Q", "W", "x"), nest=opener)
        for pat, interpolating in _PCT_OTHER:
            m = pat.match(t, s, end)
            if m:
                if interpolating:
                    self._interpolations(m.start("body"), m.end("body"))
                return m.end()
        w = self._ws_start(s, floor)
        m = _PCT_SPACE.match(t, w, end) or _PCT_SPACE_LINE.match(t, w, end)
        if m and m.end() > s:
            return m.end()
        m = _PCT_PUNCT.match(t, s, end)
        if m:
            self._interpolations(m.start("body"), m.end("body"))
            return m.end()
        return s + 1

    def _interpolations(self, pos: int, end: int) -> None:
        """Pygments re-lexes a delimited literal's content on its own: only ``#{...}`` is code there."""
        t = self.text
        while True:
            i = t.find("#{", pos, end)
            if i < 0:
                return
            pos = self._nested(i + 2, end)

    def _slash_is_regex(self, s: int, floor: int) -> bool:
        t = self.text
        if s > 0 and t[s - 1] == ".":
            return False  # a method named /
        w = self._ws_start(s, floor)
        if self._after_number(w):
            return False
        if _DEF_BEFORE.search(t, max(0, s - 40), s):
            return False
        if w < s:
            m = _REGEX_CONTEXT.match(t, w)
            if m and m.end() == s + 1:
                return True
            if t[s + 1 : s + 2] not in (" ", "\t", "\n", "\r", "\x0b", "\x0c", "="):
                return True
        m = _REGEX_CONTEXT.match(t, s)
        if m:
            return True
        return s > 0 and t[s - 1] in "(,["

    def _nested(self, pos: int, end: int) -> int:
        """Code inside ``#{...}``, with a nesting guard (Python recursion stands for Pygments' stack)."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise TooDeep
        try:
            return self.code(pos, end, intp=True)
        finally:
            self.depth -= 1

    # --- code ---------------------------------------------------------------------------------------
    def code(self, pos: int, end: int, *, intp: bool = False) -> int:
        """Scan code from ``pos``; inside ``#{`` (``intp``) stop after the matching ``}``."""
        t = self.text
        depth = 0
        search = (_EVENT_INTP if intp else _EVENT).search
        while pos < end:
            m = search(t, pos, end)
            if m is None:
                return end
            k = m.lastgroup
            s = m.start()
            if k == "hash":
                e = t.find("\n", s, end)
                e = end if e < 0 else e
                self.spans.append((s, e))
                pos = e
            elif k == "lb":
                depth += 1
                pos = s + 1
            elif k == "rb":
                pos = s + 1
                if depth == 0:
                    return pos
                depth -= 1
            elif k == "dq" or k == "sq":
                pos = self._string(s + 1, t[s], end)
            elif k == "bt":
                pos = s + 1 if s > 0 and t[s - 1] == "." else self._string(s + 1, "`", end)
            elif k == "colon":
                if s > pos and self._after_identifier(s) and not t.startswith("::", s):
                    pos = s + 1  # `name:` (a hash key symbol): the colon ends it
                elif t.startswith("::", s):
                    pos = s + 2
                elif t.startswith(':"', s):
                    pos = self._string(s + 2, '"', end)
                else:
                    sm = _SYMBOL_QUOTED.match(t, s, end) or _SYMBOL.match(t, s, end)
                    pos = sm.end() if sm else s + 1
            elif k == "q":
                prev = t[s - 1] if s > 0 else ""
                if prev.isalnum() or prev == "_" or self._after_number(self._ws_start(s, pos)):
                    pos = s + 1
                else:
                    cm = _CHAR.match(t, s, end)
                    pos = cm.end() if cm else s + 1
            elif k == "dollar":
                gm = _GLOBAL.match(t, s, end)
                pos = gm.end() if gm else s + 1
            elif k == "pct":
                pos = self._percent(s, end, pos)
            elif k == "slash":
                if self._slash_is_regex(s, pos):
                    pos = self._regex(s + 1, end)
                else:
                    pos = s + 2 if t.startswith("=", s + 1) else s + 1
            elif k == "begin":
                # '=' glued to an operator character of the same code run is that operator's ('*=' ...)
                bm = None if s > pos and t[s - 1] in "-+/*%=<>&!^|~" else _BEGIN_BLOCK.match(t, s, end)
                if bm:
                    self.spans.append((s, bm.end()))
                    pos = bm.end()
                else:
                    pos = s + 1
            elif k == "end":
                return self.n  # __END__: the rest of the file is code
            else:  # heredoc opener: rest of the line is code, then the bodies
                if s > 0 and t[s - 1] == ".":
                    pos = s + 2
                    continue
                if k == "heredoc":
                    tolerant = t[s + 2 : s + 3] in ("-", "~")
                    self.heredocs.append((tolerant, m.group("hname")))
                else:
                    self.heredocs.append((t[s + 2 : s + 3] in ("-", "~"), ""))
                nl = t.find("\n", m.end(), end)
                line_end = end if nl < 0 else nl + 1
                outermost = len(self.heredocs) == 1
                self.code(m.end(), line_end)
                pos = line_end
                if outermost:
                    pos = self._heredoc_bodies(pos)
        return end

    def _heredoc_bodies(self, pos: int) -> int:
        t = self.text
        for tolerant, name in self.heredocs:
            p = pos
            while p < self.n:
                nl = t.find("\n", p)
                line_end = self.n if nl < 0 else nl + 1
                line = t[p:line_end]
                check = line.strip() if tolerant else line.rstrip()
                p = line_end
                if check == name:
                    pos = p
                    break
            else:  # no terminator: the rest is repeated as code and lexed again from here
                if pos < self.n:
                    self.repeats.append((pos, self.n))
        self.heredocs.clear()
        return pos


def ruby_spans(text: str) -> Spans | None:
    """Comment spans (half-open) of preprocessed Ruby source ``text``; None when interpolations nest
    deeper than MAX_NESTING (use Pygments), or when Pygments would repeat text (see ``ruby_split``)."""
    scanner = _Scanner(text)
    try:
        scanner.code(0, len(text))
    except TooDeep:
        return None
    return None if scanner.repeats else scanner.spans


def ruby_split(text: str) -> tuple[str, str] | None:
    """(code, comment) of preprocessed Ruby ``text``, including Pygments' repetition of the text after
    an unterminated heredoc (see ``_Scanner.repeats``)."""
    scanner = _Scanner(text)
    try:
        scanner.code(0, len(text))
    except TooDeep:
        return None
    code: list[str] = []
    comment: list[str] = []
    repeats = sorted(scanner.repeats)
    r = 0
    pos = 0
    for s, e in scanner.spans + [(len(text), len(text))]:
        while r < len(repeats) and repeats[r][0] <= s:
            at, end = repeats[r]
            code.append(text[pos:at])
            code.append(text[at:end])
            pos = at
            r += 1
        code.append(text[pos:s])
        comment.append(text[s:e])
        pos = e
    code.append(text[pos:])
    return "".join(code), "".join(comment)
