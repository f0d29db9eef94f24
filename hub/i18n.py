"""Bahasa Indonesia first, English on request.

The language is the reader's: a console or API request sets it for its own duration
(`reading`), so an error raised while serving it speaks the reader's language; elsewhere
(the CLI, the scheduler) it is HUB_LANGUAGE or the `language` setting.

Translations live in gettext catalogs under hub/locale/<lang>/LC_MESSAGES/<domain>.po,
kept with Babel (CONTRIBUTING.md): `console` (the console's text, msgid = the Indonesian
text) and `messages` (hub.messages: msgid = a message code)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextvars import ContextVar
from functools import cache
from pathlib import Path

LOCALE = Path(__file__).parent / "locale"
_reader: ContextVar[str | None] = ContextVar("hub_reader_language", default=None)


def language() -> str:
    chosen = _reader.get()
    if chosen:
        return chosen
    lang = os.environ.get("HUB_LANGUAGE") or os.environ.get("HUB_LANG")
    if not lang:
        from hub.config import get_settings

        lang = get_settings().language
    return "en" if lang.lower().startswith("en") else "id"


@contextlib.contextmanager
def reading(lang: str) -> Iterator[None]:
    """Speak `lang` ("id" or "en") to whoever is being served in this context."""
    token = _reader.set("en" if lang == "en" else "id")
    try:
        yield
    finally:
        _reader.reset(token)


def tr(id_text: str, en_text: str) -> str:
    """Pick the Indonesian or the English text of a message."""
    return en_text if language() == "en" else id_text


@cache
def catalog(domain: str, lang: str) -> dict[str, str]:
    """msgid -> msgstr of one gettext catalog (empty translations left out)."""
    from babel.messages.pofile import read_po  # noqa: PLC0415

    path = LOCALE / lang / "LC_MESSAGES" / f"{domain}.po"
    with path.open("rb") as f:
        cat = read_po(f, locale=lang, domain=domain)
    return {str(m.id): str(m.string) for m in cat if m.id and m.string}
