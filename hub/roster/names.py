"""Names as a terminal can show them: ASCII, within the user record's byte length.

Terminals store names as bytes in a fixed field (8 bytes in 28-byte records, 24 with a NUL
in 72-byte ones, zk-protocol.md §3.7) and many show only ASCII. Letters with marks lose the
mark (NFKD); a few letters without a decomposition get a spelled form; anything else becomes
'?' and is reported, as is every cut.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

# Letters NFKD leaves alone, and punctuation that has a plain ASCII twin.
_SPELLED = {
    "ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ł": "l", "Ł": "L",
    "ı": "i", "œ": "oe", "Œ": "OE", "þ": "th", "Þ": "Th", "ð": "d", "Ð": "D", "ħ": "h", "Ħ": "H",
    "‘": "'", "’": "'", "ʼ": "'", "ʻ": "'", "`": "'", "“": '"', "”": '"', "–": "-", "—": "-",
    "\u00a0": " ",
}


@dataclass(frozen=True)
class TerminalName:
    text: str  # what is sent (ASCII)
    transliterated: bool  # letters were changed
    unrepresentable: int  # characters replaced by '?'
    truncated: bool

    @property
    def note(self) -> str | None:
        parts = []
        if self.unrepresentable:
            parts.append(f"{self.unrepresentable} karakter tidak dapat ditampilkan terminal, diganti '?'")
        elif self.transliterated:
            parts.append("ditransliterasi ke ASCII")
        if self.truncated:
            parts.append("dipotong sesuai panjang nama di terminal")
        return "; ".join(parts) or None


def to_ascii(name: str) -> tuple[str, bool, int]:
    if name.isascii() and name.isprintable():  # the common case, without the per-letter walk
        return " ".join(name.split()), False, 0
    out: list[str] = []
    changed = False
    bad = 0
    for ch in name:
        if ch.isascii():
            # control characters cannot be shown either
            if ch.isprintable():
                out.append(ch)
            else:
                out.append(" ")
                changed = True
            continue
        changed = True
        if ch in _SPELLED:
            out.append(_SPELLED[ch])
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        if base and base.isascii() and base.isprintable():
            out.append(base)
        elif unicodedata.category(ch).startswith("Z"):
            out.append(" ")
        else:
            out.append("?")
            bad += 1
    return " ".join("".join(out).split()), changed, bad


def terminal_name(name: str, max_bytes: int) -> TerminalName:
    text, changed, bad = to_ascii(name or "")
    cut = len(text) > max_bytes
    if cut:
        text = text[:max_bytes].rstrip()
    return TerminalName(text, changed, bad, cut)
