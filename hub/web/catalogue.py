"""Page text: Bahasa Indonesia is the key, English the translation, from the gettext catalog
hub/locale/en/LC_MESSAGES/console.po (Babel); codes shown in Indonesian (exception kinds)
from hub/locale/id/LC_MESSAGES/console.po.

Templates call t("teks"); a missing English entry falls back to the Indonesian text (and a
test extracts every t("…") of the templates with Babel and checks it has one).
"""

from __future__ import annotations

from collections.abc import Callable

from hub.i18n import catalog

EN: dict[str, str] = catalog("console", "en")
ID_LABELS: dict[str, str] = catalog("console", "id")


def number_formatter(lang: str) -> Callable[[object, str], str]:
    """Figures as the reader writes them: 1.234.567 and 1,25 in Indonesian, 1,234,567 and
    1.25 in English. Percentages keep at most four decimals, as the reconciler computes."""
    def num(value: object, kind: str = "count") -> str:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return "" if value is None else str(value)
        if kind == "pct":
            text = f"{value:.4f}".rstrip("0").rstrip(".") or "0"
            return text.replace(".", ",") if lang != "en" else text
        text = f"{int(value):,}"
        return text.replace(",", ".") if lang != "en" else text

    return num


def translator(lang: str) -> Callable[[str], str]:
    def t(text: str) -> str:
        if lang == "en":
            return EN.get(text, text)
        return ID_LABELS.get(text, text)

    return t
