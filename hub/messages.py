"""Messages the hub keeps (a failed pull, a sync item, a terminal's last error) are stored as a
code and its parameters, and rendered in the reader's language when shown: the console's
language switch and HUB_LANGUAGE change them, not the language of whoever wrote them.

`msg(code, **params)` is a str (rendered now, so logs and exceptions read as before) that
remembers its code; `stored(text)` is what goes into a column; `render(text, lang)` turns a
stored value back into words. Plain text (older rows, free text) is shown as it is.
"""

from __future__ import annotations

import json
from typing import Any

from hub.i18n import catalog, language

PREFIX = "msg:"
MAX_PARAM = 1500  # a parameter longer than this is cut, so a stored message stays whole

# code -> (Indonesian, English), from the gettext catalogs hub/locale/{id,en}/LC_MESSAGES/messages.po
CATALOG: dict[str, tuple[str, str]] = {code: (text, catalog("messages", "en").get(code, text))
                                       for code, text in catalog("messages", "id").items()}


class Msg(str):
    """A message rendered in the current language that keeps its code and parameters."""

    code: str
    params: dict[str, Any]

    def __new__(cls, code: str, params: dict[str, Any]) -> Msg:
        self = super().__new__(cls, _words(code, params, language()))
        self.code, self.params = code, params
        return self

    def __getnewargs__(self) -> tuple[str, dict[str, Any]]:  # type: ignore[override]
        return self.code, self.params  # pickled across the pull's worker processes


def msg(code: str, **params: Any) -> Msg:
    if code not in CATALOG:
        raise KeyError(f"no message {code!r} in hub.messages.CATALOG")
    clean = {k: v if isinstance(v, int | float) else str(v)[:MAX_PARAM] for k, v in params.items()}
    return Msg(code, clean)


def stored(text: str | None) -> str | None:
    """The column value for a message: its code and parameters, or plain text as it is."""
    if isinstance(text, Msg):
        return PREFIX + json.dumps({"c": text.code, "p": text.params}, ensure_ascii=False, sort_keys=True)
    return text


def render(text: str | None, lang: str | None = None) -> str:
    """A stored value in words of `lang` (the current language when None)."""
    if not text:
        return ""
    if not text.startswith(PREFIX):
        return text
    try:
        doc = json.loads(text[len(PREFIX):])
        return _words(doc["c"], doc["p"], lang or language())
    except (ValueError, KeyError, TypeError, IndexError):
        return text  # never hide what was kept, even when it cannot be read


def say(code: str, lang: str, **params: Any) -> str:
    """A catalogue message in `lang` now (for what is shown, not kept)."""
    return _words(code, params, lang)


def _words(code: str, params: dict[str, Any], lang: str) -> str:
    id_text, en_text = CATALOG[code]
    return (en_text if lang == "en" else id_text).format(**params)
