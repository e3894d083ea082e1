"""PII reduction: e-mail addresses, IP addresses, keys/tokens and passwords become placeholders.

Where it sits: a transform of the ``data`` stage, after copyright removal (``stage.py``); it
rewrites ``content`` and counts each kind of replacement.

    alice@corp.io            -> <EMAIL>          (not: @decorator, pkg@1.2.3, git@github.com:x/y.git*)
    203.0.113.7, 2001:db8::1 -> <IP_ADDRESS>     (not: ==1.2.3.4 pins, v1.2.3.4, 1.3.6.1.4.1, 127.0.0.1)
    AKIAIOSFODNN7EXAMPLE     -> <KEY>            (AWS/GitHub/Slack/Google/Stripe keys, PEM private keys,
    api_key = "h1gh3ntr0py"  -> api_key = "<KEY>"  secrets assigned to a key/token/secret name)
    password = "hunter2"     -> password = "<PASSWORD>"  (also user:pass@ in URLs)

    * ssh/scp remotes (``git@github.com:owner/repo.git``, ``ssh://git@host/...``) are kept when
      ``PiiConfig.keep_ssh_remotes`` is on (the default): they name a service account, not a person.

    +1 (415) 555-0132        -> <PHONE_NUMBER>   (international, North-American and UK-style numbers
                                                  with separators; not dates, versions, numeric literals)

Look-alikes it leaves alone, on purpose:
- e-mail: RFC 2606/6761 example names (``example.com``/``.org``/``.net``, ``*.example``, ``*.test``,
  ``*.invalid``, ``*.localhost``) are documentation, not personal data: kept unless
  ``PiiConfig.keep_example_emails`` is off. A TLD must be a real one (IANA ccTLD or a known gTLD)
  in one case (``q@k.mT`` is a matrix product); in Python, an ``@`` outside strings and comments is
  an operator, never an e-mail.
- IP: dotted numbers in version positions (``crawler/1.2.3.4``, ``@since 1.2.3.4``,
  ``firmware = "4.2.1.7"``, ``v1.2.3.4``, pins, OIDs).
- key: the name of an environment variable or setting (``"GITHUB_ACCESS_TOKEN"``, ``"X-Auth-Token"``)
  is not a secret: a value assigned to a secret-like name must look random (digits and letters, or a
  long mixed-case run) and have ``min_secret_entropy``.
- password: only the value of an assignment / key-value pair is replaced, never text across a string
  boundary (``print("Enter password:", end=" ")`` stays as it is).

What it does NOT do: detect names or street addresses (no NER here); decide what is secret by
entropy alone (a bare 40-hex git hash or a lock-file ``sha512-...`` integrity hash is never a key);
check that its edits keep code parsing (``syntax_guard`` does that, per transform kind, in the stage).
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections import Counter
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field

EMAIL_PLACEHOLDER = "<EMAIL>"
IP_PLACEHOLDER = "<IP_ADDRESS>"
KEY_PLACEHOLDER = "<KEY>"
PASSWORD_PLACEHOLDER = "<PASSWORD>"
PHONE_PLACEHOLDER = "<PHONE_NUMBER>"


class PiiConfig(BaseModel):
    """Which PII kinds are replaced, and the few exceptions users ask for."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    emails: bool = True
    ip_addresses: bool = True
    keys: bool = True
    passwords: bool = True
    phone_numbers: bool = True
    keep_example_emails: bool = Field(True, description="keep RFC 2606/6761 example addresses (user@example.com): "
                                      "documentation, not personal data")
    keep_ssh_remotes: bool = Field(True, description="keep user@host in ssh/scp git remotes (git@github.com:a/b)")
    keep_email_domains: list[str] = Field(default_factory=list,
                                          description="e-mail domains left alone, e.g. [example.com]")
    keep_ips: list[str] = Field(default_factory=lambda: ["0.0.0.0", "127.0.0.1", "255.255.255.255", "::", "::1"],
                                description="addresses that identify nobody")
    min_secret_entropy: float = Field(3.0, description="bits/char for a value assigned to a secret-like name")


# ---- e-mail -------------------------------------------------------------------------------------
_GTLDS = {
    "com", "org", "net", "edu", "gov", "mil", "int", "info", "biz", "name", "pro", "io", "dev", "app", "ai",
    "co", "me", "tech", "online", "site", "xyz", "cloud", "email", "mail", "page", "software", "systems",
    "company", "solutions", "services", "network", "digital", "media", "studio", "design", "codes", "social",
    "team", "zone", "space", "live", "life", "world", "today", "blog", "news", "work", "works", "agency",
    "academy", "center", "consulting", "engineering", "group", "global", "host", "inc", "ltd", "llc", "local",
    "museum", "aero", "coop", "jobs", "mobi", "travel", "tel", "asia", "cat", "post", "google", "amazon",
    "microsoft", "apple", "localdomain", "internal", "lan", "corp", "home", "test", "example", "invalid",
}
# IANA country-code TLDs (ISO 3166-1 alpha-2 plus uk, eu, ac): a two-letter TLD must be one of them
_CCTLDS = set(
    "ac ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bm bn bo br bs bt bw by bz "
    "ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do dz ec ee eg er es et eu fi fj fk "
    "fm fo fr ga gb gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw gy hk hm hn hr ht hu id ie il im in io iq "
    "ir is it je jm jo jp ke kg kh ki km kn kp kr kw ky kz la lb lc li lk lr ls lt lu lv ly ma mc md me mg mh "
    "mk ml mm mn mo mp mq mr ms mt mu mv mw mx my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk "
    "pl pm pn pr ps pt pw py qa re ro rs ru rw sa sb sc sd se sg sh si sk sl sm sn so sr ss st su sv sx sy sz "
    "tc td tf tg th tj tk tl tm tn to tr tt tv tw tz ua ug uk us uy uz va vc ve vg vi vn vu wf ws ye yt za zm "
    "zw".split()
)
_EMAIL = re.compile(
    r"(?<![\w.%+\-/@])"
    r"([A-Za-z0-9][A-Za-z0-9._%+\-]{0,63})@((?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,24}))"
    r"(?![\w\-@(\[]|\.[A-Za-z0-9])"
)
_EXAMPLE_DOMAIN = re.compile(r"(?:^|\.)(?:example\.(?:com|org|net|edu)|example|test|invalid|localhost)$", re.IGNORECASE)


def _is_tld(tld: str) -> bool:
    """A real top-level domain, written in one case (``mT`` in ``q@k.mT`` is an attribute, not a TLD)."""
    if not (tld.islower() or tld.isupper()):
        return False
    tld = tld.lower()
    return tld in _CCTLDS if len(tld) == 2 else tld in _GTLDS


def _python_text_spans(text: str) -> list[tuple[int, int]] | None:
    """(start, end) offsets of the string and comment tokens of Python source; None if it does not tokenize.

    In Python code an ``@`` outside strings and comments is a decorator or the matrix-product
    operator, so an "e-mail" there is never one.
    """
    import io
    import tokenize

    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    spans: list[tuple[int, int]] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type in (tokenize.STRING, tokenize.COMMENT) or tok.type == getattr(tokenize, "FSTRING_MIDDLE", -1):
                (r0, c0), (r1, c1) = tok.start, tok.end
                spans.append((starts[r0 - 1] + c0, starts[r1 - 1] + c1))
    except (tokenize.TokenError, SyntaxError, IndentationError, IndexError):
        return None
    return spans


def _is_ssh_remote(text: str, start: int, end: int) -> bool:
    before = text[max(0, start - 10):start]
    if before.endswith("ssh://") or before.endswith("git+ssh://") or before.endswith("ssh "):
        return True
    return end < len(text) and text[end] == ":" and (end + 1 < len(text) and text[end + 1] not in " \t\r\n")


# ---- IP addresses -------------------------------------------------------------------------------
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"(?<![\w.\-=<>~^])({_OCTET}(?:\.{_OCTET}){{3}})(?![\w\-]|\.\d)")
_IPV6 = re.compile(r"(?<![\w:.])((?:[0-9A-Fa-f]{1,4}:){1,7}:?(?:[0-9A-Fa-f]{1,4})?(?::[0-9A-Fa-f]{1,4}){0,6}"
                   r"|::(?:[0-9A-Fa-f]{1,4}:){0,6}[0-9A-Fa-f]{1,4})(?![\w:])")
_VERSION_WORD = re.compile(
    r"(?:(?<![A-Za-z])(?:version|ver|release|rev|build|tag|oid|pin|sections?|chapter|rfc|step|since|firmware|fw"
    r"|sdk|driver|kernel|bios|revision|patch|api[_\-]?level|min[_\-]?sdk|target[_\-]?sdk)\w*"
    r"|\w*(?:[Vv]ersion|VERSION|Firmware|FIRMWARE|Release|Build|Since)\w*|§|==|>=|<=|~=|!=)"
    r"[\s:=\"'`(]*$",
    re.IGNORECASE,
)
_PRODUCT_SLASH = re.compile(r"[A-Za-z][\w.\-]*/$")  # a user-agent product token: foo-crawler/1.2.3.4 (not //1.2.3.4)


_TRIPLE_VERSION = re.compile(r"(?<![\d.])\d+\.\d+\.\d+(?![\d.])")


def _looks_like_version(text: str, start: int, ip: str) -> bool:
    """A dotted quad that is a version, a section number or a network address, not a host."""
    octets = ip.split(".")
    if octets[0] == "0" or octets[-1] == "0":
        return True  # 17.0.0.0 assembly versions, 10.0.0.0 networks: not a host anyone owns
    line_start = text.rfind("\n", 0, start) + 1
    before = text[max(line_start, start - 24):start]
    if _VERSION_WORD.search(before) or _PRODUCT_SLASH.search(before):
        return True
    line_end = text.find("\n", start)
    line = text[line_start:line_end if line_end >= 0 else len(text)]
    return bool(_TRIPLE_VERSION.search(line))  # a release table row: v23.1.0  10.9.0  12.4.254.21


# ---- keys and passwords -------------------------------------------------------------------------
_KNOWN_KEYS = re.compile(
    r"(?<![A-Za-z0-9])("
    r"(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|A3T[A-Z0-9])[A-Z0-9]{16}"  # AWS access key ids
    r"|gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255}"  # GitHub tokens
    r"|xox[abposr]-[A-Za-z0-9\-]{10,200}"  # Slack
    r"|AIza[0-9A-Za-z\-_]{35}"  # Google API keys
    r"|(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,99}"  # Stripe
    r"|glpat-[0-9A-Za-z\-_]{20}"  # GitLab
    r"|sk-(?:proj-)?[A-Za-z0-9_\-]{32,200}"  # OpenAI-style
    r"|npm_[A-Za-z0-9]{36}"
    r")(?![A-Za-z0-9])"
)
_PEM_KEY = re.compile(
    r"(-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----)"
    r"(.*?)(-----END (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----)",
    re.DOTALL,
)
_SECRET_NAME = r"[A-Za-z0-9_.\-]*(?:secret|token|api[_\-]?key|apikey|access[_\-]?key|private[_\-]?key|auth[_\-]?key" \
               r"|client[_\-]?secret|signing[_\-]?key|encryption[_\-]?key|bearer)[A-Za-z0-9_\-]*"
_SECRET_ASSIGN = re.compile(
    rf"(?i)(?<![A-Za-z0-9_.\-])(?P<name>[\"']?{_SECRET_NAME}[\"']?\s*(?::=|=>|[:=])\s*)(?P<q>[\"'`])(?P<value>[A-Za-z0-9+/=_\-.~]{{16,512}})(?P=q)"
)
_SECRET_WORD = re.compile(r"secret|token|api[_\-]?key|apikey|access[_\-]?key|private[_\-]?key|auth[_\-]?key|signing[_\-]?key"
                          r"|encryption[_\-]?key|bearer", re.IGNORECASE)
_PASSWORD_WORD = re.compile(r"password|passwd|passphrase|pwd", re.IGNORECASE)
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")


def _sub_at_words(text: str, word: re.Pattern[str], assign: re.Pattern[str],
                  repl: Callable[[re.Match[str]], str]) -> str:
    """``assign.sub(repl, text)``, trying ``assign`` only where a name holding ``word`` starts.

    The same matches as ``sub`` (``assign`` begins with a lookbehind that forbids starting inside a
    name), without trying the pattern at every offset: on minified or base64-heavy files that is
    the difference between linear and quadratic time.
    """
    out: list[str] = []
    last = 0
    for w in word.finditer(text):
        start = w.start()
        while start > 0 and text[start - 1] in _NAME_CHARS:
            start -= 1
        if start > 0 and text[start - 1] in "\"'":
            start -= 1
        if start < last:
            continue
        m = assign.match(text, start)
        if m is None and start < w.start() and text[start] in "\"'":
            m = assign.match(text, start + 1)
        if m is None:
            continue
        out.append(text[last:m.start()])
        out.append(repl(m))
        last = m.end()
    if not out:
        return text
    out.append(text[last:])
    return "".join(out)


_PASSWORD_NAME = r"[A-Za-z0-9_\-]*(?:password|passwd|passphrase|pwd)[A-Za-z0-9_]*"
_PASSWORD_ASSIGN = re.compile(
    rf"(?i)(?<![A-Za-z0-9_\-])(?P<name>[\"']?{_PASSWORD_NAME}[\"']?\s*(?::=|=>|[:=])\s*)(?P<q>[\"'`])(?P<value>(?:[^\"'`\n\\]|\\.){{1,256}})(?P=q)"
)
_PASSWORD_BARE = re.compile(  # KEY=VALUE files (.env, ini, properties, shell): an unquoted value
    rf"(?im)^(?P<name>\s*(?:export\s+)?{_PASSWORD_NAME}\s*[:=]\s*)(?P<value>[^\s\"'`$(){{}}\[\];,#]{{1,256}})[ \t]*$"
)
_URL_PASSWORD = re.compile(r"(?P<pre>\b[a-z][a-z0-9+.\-]{1,20}://[^\s:/@\"'<>]{1,64}:)(?P<value>[^\s@/\"'<>]{1,128})(?P<post>@)")
_PLACEHOLDER_VALUE = re.compile(
    r"^(?:<[^>]*>|\$.*|\{[\w.\[\]'\"]*\}|\{\{.*\}\}|%\(?\w*\)?s?|\*+|x+|X+|\.+|-+|_+|null|none|nil|true|false|undefined"
    r"|password|passwd|secret|changeme|change_me|example|test|dummy|placeholder|\?+|env\..*|os\.environ.*)$",
    re.IGNORECASE,
)
# a label or a setting's name, not a password: "Password: ", "db.password", "Enter your password"
_PASSWORD_LABEL = re.compile(
    r"^[a-z][\w\-]*[._][\w.\-]*(?:password|passwd|pwd)[\w.\-]*$|^[\w.\-]*(?:password|passwd)[._][\w.\-]+$"
    r"|^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$|[:?]\s*$|^[A-Za-z]+(?: [A-Za-z]+)+$"
)
_PLACEHOLDER_WORDS = re.compile(r"your|example|dummy|placeholder|xxxx|changeme|redacted|sample", re.IGNORECASE)
_CODE_LANGS_NO_BARE = {
    "python", "c", "cpp", "csharp", "java", "javascript", "typescript", "go", "rust", "ruby", "php", "kotlin",
    "scala", "swift", "perl", "lua", "r", "haskell", "html", "markdown",
}


def _entropy(value: str) -> float:
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


_ENV_NAME = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")  # GITHUB_ACCESS_TOKEN, AWS_SECRET_ACCESS_KEY_2
_WORDISH = re.compile(r"[A-Za-z_.\-/]+")  # no digit: a name, header or identifier unless it looks random


def _is_secret_value(value: str, min_entropy: float) -> bool:
    """A secret-looking value: not a placeholder, not a name (env var, header, identifier), random enough."""
    if _PLACEHOLDER_VALUE.match(value) or _PLACEHOLDER_WORDS.search(value) or _ENV_NAME.fullmatch(value):
        return False
    if _WORDISH.fullmatch(value):
        if any(c in value for c in "_.-/"):
            return False  # "auth.token_name", "X-Auth-Token", "my-app-secret", "prod/db/credentials"
        upper = sum(c.isupper() for c in value)
        if len(value) < 20 or not (len(value) / 5 <= upper <= 4 * len(value) / 5):
            return False  # "BearerTokenProvider": a CamelCase name, not random letters
    return _entropy(value) >= min_entropy


def _string_state(text: str, pos: int) -> str | None:
    """The quote character of the string literal open at ``pos`` on its line; ``#`` in a comment; None in code.

    A line-level scan: quotes after a ``#`` or ``//`` outside a string are comment prose (``don't``)
    and end the scan; a line starting with ``*``, ``/*`` or ``--`` is taken as comment text.
    Enough to tell an opening quote from a closing one, and prose from code.
    """
    i = text.rfind("\n", 0, pos) + 1
    if text[i:pos].lstrip().startswith(("*", "/*", "--", "<!--")):
        return "#"
    state: str | None = None
    while i < pos:
        c = text[i]
        if state is not None:
            if c == "\\":
                i += 2
                continue
            if c == state:
                state = None
        elif c in "\"'`":
            state = c
        elif c == "#" or text.startswith("//", i):
            return "#"
        i += 1
    return state


def _value_quote_opens(text: str, name_start: int, quote_pos: int) -> bool:
    """True when the quote before a value opens that value (or nests inside the string holding the name).

    ``print("Enter password:", end=" ")``: the quote after ``password:`` closes the prompt string, so
    there is no password value here.
    """
    at_quote = _string_state(text, quote_pos)
    if at_quote is None or at_quote == "#":
        return True
    return at_quote == _string_state(text, name_start) and at_quote != text[quote_pos]


# ---- phone numbers ------------------------------------------------------------------------------
_PHONE = re.compile(
    r"(?<![\w.+\-/:#$%=])(?:"
    r"\+\d{1,3}(?:[ .\-]?\(\d{1,4}\)[ .\-]?\d{1,8}|[ .\-]\d{1,8})(?:[ .\-]\d{1,8}){1,4}"  # +1 (415) 555-0132, +44 20 7946 0958
    r"|\(\d{3}\)[ .\-]?\d{3}[ .\-]\d{4}"  # (415) 555-0132
    r"|\d{3}([.\-])\d{3}\1\d{4}"  # 415-555-0132, 415.555.0132
    r"|0\d{2,4} \d{3,4} \d{3,4}"  # 020 7946 0958, 0161 496 0000 (UK-style national numbers)
    r")(?![\w.\-+/:]|,\d)"
)
_PHONE_WORD = re.compile(r"(?:phone|tel|fax|mobile|cell|call|contact|whatsapp|sms)\w*\W{0,4}$", re.IGNORECASE)


def _is_phone(text: str, m: re.Match[str]) -> bool:
    """A phone number, not a date, version, numeric table row or literal list."""
    digits = sum(c.isdigit() for c in m.group(0))
    if not 9 <= digits <= 15:
        return False
    number = m.group(0)
    line_start = text.rfind("\n", 0, m.start()) + 1
    before = text[max(line_start, m.start() - 24):m.start()]
    if number.startswith("+") or number.startswith("(") or _PHONE_WORD.search(before):
        return True
    # a bare national number: only inside a string or comment-like prose, never a run of numbers
    if re.search(r"\d[ \t]*$", before) or re.match(r"[ \t]*\d", text[m.end():m.end() + 3]):
        return False
    return _string_state(text, m.start()) is not None  # in code, 123-456-7890 is arithmetic


class PiiRedactor:
    """Replace PII in one document; ``counts`` accumulates what was replaced, per kind."""

    def __init__(self, config: PiiConfig | None = None) -> None:
        self.config = config or PiiConfig()
        self.counts: Counter[str] = Counter()
        self._keep_ips = set(self.config.keep_ips)
        self._keep_domains = {d.lower() for d in self.config.keep_email_domains}

    def __call__(self, content: str, program_lang: str | None = None,
                 keep: Callable[[str, str, str], bool] | None = None) -> tuple[str, dict[str, int]]:
        """Return (redacted content, {kind: replacements}) for one document.

        ``keep(kind, before, after)``, when given, sees each kind's edit of the whole document and may
        refuse it (the stage's syntax guard); a refused kind is counted as ``reverted_<kind>``.
        """
        cfg = self.config
        local: Counter[str] = Counter()
        if not cfg.enabled or not content:
            return content, {}
        steps: list[tuple[str, Callable[[str, Counter[str]], str]]] = []
        if cfg.keys:
            steps.append(("key", self._keys))
        if cfg.passwords:
            steps.append(("password", lambda t, c: self._passwords(t, program_lang, c)))
        if cfg.emails and "@" in content:
            steps.append(("email", lambda t, c: self._emails(t, program_lang, c)))
        if cfg.ip_addresses:
            steps.append(("ip_address", self._ips))
        if cfg.phone_numbers:
            steps.append(("phone_number", self._phones))
        for kind, step in steps:
            counts: Counter[str] = Counter()
            after = step(content, counts)
            if after != content and keep is not None and not keep(kind, content, after):
                local[f"reverted_{kind}"] += 1
                continue
            content = after
            local.update(counts)
        self.counts.update(local)
        return content, dict(local)

    # -- one method per kind; each returns the rewritten text and counts into ``local``
    def _keys(self, text: str, local: Counter[str]) -> str:
        def pem(m: re.Match[str]) -> str:
            local["key"] += 1
            return f"{m.group(1)}\n{KEY_PLACEHOLDER}\n{m.group(3)}"

        if "PRIVATE KEY" in text:
            text = _PEM_KEY.sub(pem, text)

        def known(m: re.Match[str]) -> str:
            local["key"] += 1
            return KEY_PLACEHOLDER

        text = _KNOWN_KEYS.sub(known, text)

        def assigned(m: re.Match[str]) -> str:
            value = m.group("value")
            if not _value_quote_opens(m.string, m.start(), m.start("q")):
                return m.group(0)
            if not _is_secret_value(value, self.config.min_secret_entropy):
                return m.group(0)
            local["key"] += 1
            return f"{m.group('name')}{m.group('q')}{KEY_PLACEHOLDER}{m.group('q')}"

        return _sub_at_words(text, _SECRET_WORD, _SECRET_ASSIGN, assigned)

    def _passwords(self, text: str, program_lang: str | None, local: Counter[str]) -> str:
        def quoted(m: re.Match[str]) -> str:
            value = m.group("value")
            if _PLACEHOLDER_VALUE.match(value.strip()) or value == PASSWORD_PLACEHOLDER or not value.strip():
                return m.group(0)
            if not _value_quote_opens(m.string, m.start(), m.start("q")) or _PASSWORD_LABEL.search(value):
                return m.group(0)
            local["password"] += 1
            return f"{m.group('name')}{m.group('q')}{PASSWORD_PLACEHOLDER}{m.group('q')}"

        text = _sub_at_words(text, _PASSWORD_WORD, _PASSWORD_ASSIGN, quoted)
        if (program_lang or "").lower() not in _CODE_LANGS_NO_BARE:
            def bare(m: re.Match[str]) -> str:
                value = m.group("value")
                if _PLACEHOLDER_VALUE.match(value) or value == PASSWORD_PLACEHOLDER:
                    return m.group(0)
                local["password"] += 1
                return f"{m.group('name')}{PASSWORD_PLACEHOLDER}"

            text = _PASSWORD_BARE.sub(bare, text)

        def url(m: re.Match[str]) -> str:
            value = m.group("value")
            if _PLACEHOLDER_VALUE.match(value) or value == PASSWORD_PLACEHOLDER:
                return m.group(0)
            local["password"] += 1
            return f"{m.group('pre')}{PASSWORD_PLACEHOLDER}{m.group('post')}"

        return _URL_PASSWORD.sub(url, text) if "://" in text else text

    def _emails(self, text: str, program_lang: str | None, local: Counter[str]) -> str:
        spans: list[tuple[int, int]] | None = None
        python = (program_lang or "").lower() == "python"

        def in_text(pos: int) -> bool:
            nonlocal spans
            if spans is None:
                found = _python_text_spans(text)
                spans = [(0, len(text))] if found is None else found  # untokenizable: treat all as text
            return any(a <= pos < b for a, b in spans)

        def repl(m: re.Match[str]) -> str:
            domain, tld = m.group(2), m.group(3)
            if not _is_tld(tld) or domain.lower() in self._keep_domains:
                return m.group(0)
            if self.config.keep_example_emails and _EXAMPLE_DOMAIN.search(domain):
                return m.group(0)
            if self.config.keep_ssh_remotes and _is_ssh_remote(m.string, m.start(), m.end()):
                return m.group(0)
            if python and not in_text(m.start()):
                return m.group(0)  # an operator (a@b.T) or decorator, not text
            local["email"] += 1
            return EMAIL_PLACEHOLDER

        return _EMAIL.sub(repl, text)

    def _phones(self, text: str, local: Counter[str]) -> str:
        def repl(m: re.Match[str]) -> str:
            if not _is_phone(m.string, m):
                return m.group(0)
            local["phone_number"] += 1
            return PHONE_PLACEHOLDER

        return _PHONE.sub(repl, text)

    def _ips(self, text: str, local: Counter[str]) -> str:
        def v4(m: re.Match[str]) -> str:
            ip = m.group(1)
            if ip in self._keep_ips or ip.startswith("127.") or _looks_like_version(m.string, m.start(), ip):
                return m.group(0)
            local["ip_address"] += 1
            return IP_PLACEHOLDER

        text = _IPV4.sub(v4, text)
        if text.count(":") < 2:
            return text

        def v6(m: re.Match[str]) -> str:
            cand = m.group(1)
            groups = [g for g in cand.split(":") if g]
            if cand in self._keep_ips or not any(ch.isdigit() for ch in cand) or len(groups) < 2:
                return m.group(0)
            if len(groups) < 3 and (all(g.isdigit() for g in groups) or m.string[m.start() - 1:m.start()] == "["):
                return m.group(0)  # a slice (x[1::2], img[::2, 1::2]) or a ratio, not an address
            try:
                ipaddress.IPv6Address(cand)
            except ValueError:
                return m.group(0)
            local["ip_address"] += 1
            return IP_PLACEHOLDER

        return _IPV6.sub(v6, text)


def redact_pii(content: str, program_lang: str | None = None, config: PiiConfig | None = None) -> tuple[str, dict]:
    """One-shot convenience: redact one document with ``config`` (default: every kind on)."""
    return PiiRedactor(config)(content, program_lang)
