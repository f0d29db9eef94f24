"""Bahasa Indonesia first, English on request (HUB_LANGUAGE=en or language = "en")."""

from __future__ import annotations

import os


def language() -> str:
    lang = os.environ.get("HUB_LANGUAGE") or os.environ.get("HUB_LANG")
    if not lang:
        from hub.config import get_settings

        lang = get_settings().language
    return "en" if lang.lower().startswith("en") else "id"


def tr(id_text: str, en_text: str) -> str:
    """Pick the Indonesian or the English text of a message."""
    return en_text if language() == "en" else id_text
