"""Page text checks: is there text at all, is it readable, which script is it in.

A page whose text layer is missing cannot be cited; a page whose fonts map glyphs to the
wrong characters (mojibake) extracts as garbage that would poison the embeddings. Both
are flagged so the analyst knows which pages the tool could not read.
"""

from __future__ import annotations

import re
import unicodedata

NO_TEXT = "no_text"
GARBLED = "garbled"
NON_LATIN = "non_latin"

MIN_LETTERS = 40  # below this a page has nothing worth citing (covers, photos, scans)

_TOKEN = re.compile(r"\S+")
_VOWELS = set("aeiouyäöüàáâãåæèéêëìíîïòóôõøùúûýÿœAEIOUYÄÖÜÀÁÂÃÅÆÈÉÊËÌÍÎÏÒÓÔÕØÙÚÛÝŸŒ")
_CID = re.compile(r"\(cid:\d+\)")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uff00-\uffef]")


def page_flags(text: str) -> list[str]:
    """Flags for one page's text: no_text, garbled, non_latin (empty list when fine)."""
    visible = sum(not ch.isspace() for ch in text)
    if visible >= MIN_LETTERS and is_garbled(text):
        return [GARBLED]
    letters = sum(ch.isalpha() for ch in text)
    if letters < MIN_LETTERS:
        return [NO_TEXT]
    cjk = len(_CJK.findall(text))
    if cjk > 0.3 * letters:
        return [NON_LATIN]
    return []


def is_garbled(text: str) -> bool:
    """Heuristic mojibake test: odd symbols, private-use glyphs, or vowel-less 'words'."""
    visible = [ch for ch in text if not ch.isspace()]
    if not visible:
        return False
    if len(_CID.findall(text)) >= 5:
        return True
    odd = 0
    for ch in visible:
        cat = unicodedata.category(ch)
        if (
            cat in ("Co", "Cn", "Cc", "Cs")
            or ch == "\ufffd"
            or cat[0] == "S"
            and ch not in "%$€£+=<>±°©®™|~^`×÷µ§€¥→•■●▪►✓"
        ):
            odd += 1
    if odd > 0.15 * len(visible):
        return True
    # Latin-script words: real prose in European languages has a vowel in nearly every word.
    words = [t for t in _TOKEN.findall(text) if len(t) >= 3 and t.isalpha() and t.isascii()]
    if len(words) >= 30:
        with_vowel = sum(any(c in _VOWELS for c in w) for w in words)
        if with_vowel < 0.7 * len(words):
            return True
    # Mixed scripts inside a word ("ãƒ†ã‚£" style mojibake): Latin letters glued to symbols.
    tokens = _TOKEN.findall(text)
    mixed = sum(1 for t in tokens if _mixed(t))
    return len(tokens) >= 20 and mixed > 0.25 * len(tokens)


def _mixed(token: str) -> bool:
    has_latin = any("a" <= c.lower() <= "z" for c in token)
    has_high = any(0x80 <= ord(c) <= 0x2FF and not c.isalpha() for c in token)
    return has_latin and has_high
