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

What it does NOT do: detect names, phone numbers or street addresses (no NER here); decide what
is secret by entropy alone (a bare 40-hex git hash or a lock-file ``sha512-...`` integrity hash
is never a key: only known key formats, or high-entropy values assigned to a secret-like name).
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections import Counter

from pydantic import BaseModel, ConfigDict, Field

EMAIL_PLACEHOLDER = "<EMAIL>"
IP_PLACEHOLDER = "<IP_ADDRESS>"
KEY_PLACEHOLDER = "<KEY>"
PASSWORD_PLACEHOLDER = "<PASSWORD>"


class PiiConfig(BaseModel):
    """Which PII kinds are replaced, and the few exceptions users ask for."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    emails: bool = True
    ip_addresses: bool = True
    keys: bool = True
    passwords: bool = True
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
_EMAIL = re.compile(
    r"(?<![\w.%+\-/@])"
    r"([A-Za-z0-9][A-Za-z0-9._%+\-]{0,63})@((?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,24}))"
    r"(?![\w\-@]|\.[A-Za-z0-9])"
)


def _is_tld(tld: str) -> bool:
    tld = tld.lower()
    return len(tld) == 2 or tld in _GTLDS


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
_VERSION_WORD = re.compile(r"(?:(?<![A-Za-z])(?:version|ver|release|rev|build|tag|oid|pin|sections?|chapter|rfc|step)\w*|§|==|>=|<=|~=|!=)[\s:=\"'`(]*$",
                           re.IGNORECASE)


_TRIPLE_VERSION = re.compile(r"(?<![\d.])\d+\.\d+\.\d+(?![\d.])")


def _looks_like_version(text: str, start: int, ip: str) -> bool:
    """A dotted quad that is a version, a section number or a network address, not a host."""
    octets = ip.split(".")
    if octets[0] == "0" or octets[-1] == "0":
        return True  # 17.0.0.0 assembly versions, 10.0.0.0 networks: not a host anyone owns
    line_start = text.rfind("\n", 0, start) + 1
    before = text[max(line_start, start - 24):start]
    if _VERSION_WORD.search(before):
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
    rf"(?i)(?P<name>[\"']?{_SECRET_NAME}[\"']?\s*(?::=|=>|[:=])\s*)(?P<q>[\"'`])(?P<value>[A-Za-z0-9+/=_\-.~]{{16,512}})(?P=q)"
)
_PASSWORD_NAME = r"[A-Za-z0-9_\-]*(?:password|passwd|passphrase|pwd)[A-Za-z0-9_]*"
_PASSWORD_ASSIGN = re.compile(
    rf"(?i)(?P<name>[\"']?{_PASSWORD_NAME}[\"']?\s*(?::=|=>|[:=])\s*)(?P<q>[\"'`])(?P<value>[^\"'`\n]{{1,256}})(?P=q)"
)
_PASSWORD_BARE = re.compile(  # KEY=VALUE files (.env, ini, properties, shell): an unquoted value
    rf"(?im)^(?P<name>\s*(?:export\s+)?{_PASSWORD_NAME}\s*[:=]\s*)(?P<value>[^\s\"'`$(){{}}\[\];,#]{{1,256}})[ \t]*$"
)
_URL_PASSWORD = re.compile(r"(?P<pre>\b[a-z][a-z0-9+.\-]{1,20}://[^\s:/@\"'<>]{1,64}:)(?P<value>[^\s@/\"'<>]{1,128})(?P<post>@)")
_PLACEHOLDER_VALUE = re.compile(
    r"^(?:<[^>]*>|\$\{?[\w.]+\}?|\{\{.*\}\}|%\(?\w*\)?s?|\*+|x+|X+|\.+|-+|_+|null|none|nil|true|false|undefined"
    r"|password|passwd|secret|changeme|change_me|example|test|dummy|placeholder|\?+|env\..*|os\.environ.*)$",
    re.IGNORECASE,
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


def _is_secret_value(value: str, min_entropy: float) -> bool:
    if _PLACEHOLDER_VALUE.match(value) or _PLACEHOLDER_WORDS.search(value):
        return False
    if value.replace(".", "").replace("_", "").replace("-", "").isalpha() and value.lower() == value:
        return False  # a dotted or snake_case identifier, e.g. "auth.token_name"
    return _entropy(value) >= min_entropy


class PiiRedactor:
    """Replace PII in one document; ``counts`` accumulates what was replaced, per kind."""

    def __init__(self, config: PiiConfig | None = None) -> None:
        self.config = config or PiiConfig()
        self.counts: Counter[str] = Counter()
        self._keep_ips = set(self.config.keep_ips)
        self._keep_domains = {d.lower() for d in self.config.keep_email_domains}

    def __call__(self, content: str, program_lang: str | None = None) -> tuple[str, dict[str, int]]:
        """Return (redacted content, {kind: replacements}) for one document."""
        cfg = self.config
        local: Counter[str] = Counter()
        if not cfg.enabled or not content:
            return content, {}
        if cfg.keys:
            content = self._keys(content, local)
        if cfg.passwords:
            content = self._passwords(content, program_lang, local)
        if cfg.emails and "@" in content:
            content = self._emails(content, local)
        if cfg.ip_addresses:
            content = self._ips(content, local)
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
            if not _is_secret_value(value, self.config.min_secret_entropy):
                return m.group(0)
            local["key"] += 1
            return f"{m.group('name')}{m.group('q')}{KEY_PLACEHOLDER}{m.group('q')}"

        return _SECRET_ASSIGN.sub(assigned, text)

    def _passwords(self, text: str, program_lang: str | None, local: Counter[str]) -> str:
        def quoted(m: re.Match[str]) -> str:
            value = m.group("value")
            if _PLACEHOLDER_VALUE.match(value.strip()) or value == PASSWORD_PLACEHOLDER or not value.strip():
                return m.group(0)
            local["password"] += 1
            return f"{m.group('name')}{m.group('q')}{PASSWORD_PLACEHOLDER}{m.group('q')}"

        text = _PASSWORD_ASSIGN.sub(quoted, text)
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

    def _emails(self, text: str, local: Counter[str]) -> str:
        def repl(m: re.Match[str]) -> str:
            domain, tld = m.group(2), m.group(3)
            if not _is_tld(tld) or domain.lower() in self._keep_domains:
                return m.group(0)
            if self.config.keep_ssh_remotes and _is_ssh_remote(m.string, m.start(), m.end()):
                return m.group(0)
            local["email"] += 1
            return EMAIL_PLACEHOLDER

        return _EMAIL.sub(repl, text)

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
            if len(groups) < 3 and m.start() > 0 and m.string[m.start() - 1] == "[":  # a slice: x[1::2]
                return m.group(0)
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
