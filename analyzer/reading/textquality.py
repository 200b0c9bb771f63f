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
_SPACE = re.compile(r"\s+")
_NOT_LETTER = re.compile(r"[\W\d_]+")
_URL = re.compile(r"\S*(?:https?://|www\.)\S*")
_ASCII_WORD = re.compile(r"\b[A-Za-z]{3,}\b")
_VOWEL = re.compile(r"[aeiouyAEIOUY]")
_PLAIN = re.compile(r"[A-Za-z0-9.,;:!?()\[\]'\"%/&+\-–—’‘“”•€$£]")
_LATIN = re.compile(r"[A-Za-z]")
_MIXED = re.compile(r"[\u0080-\u00bf\u00c3\u00c2\u2500-\u25ff]")
_USUAL_SYMBOLS = "%$€£+=<>±°©®™|~^`×÷µ§¥→•■●▪►✓"
_CID = re.compile(r"\(cid:\d+\)")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uff00-\uffef]")


def page_flags(text: str) -> list[str]:
    """Flags for one page's text: no_text, garbled, non_latin (empty list when fine)."""
    visible = len(_SPACE.sub("", text))
    if visible >= MIN_LETTERS and is_garbled(text):
        return [GARBLED]
    letters = len(_NOT_LETTER.sub("", text))
    if letters < MIN_LETTERS:
        return [NO_TEXT]
    if len(text) - len(_CJK.sub("", text)) > 0.3 * letters:
        return [NON_LATIN]
    return []


def is_garbled(text: str) -> bool:
    """Heuristic mojibake test: odd symbols, private-use glyphs, or vowel-less 'words'."""
    visible = _SPACE.sub("", text)
    if not visible:
        return False
    if len(_CID.findall(text)) >= 5:
        return True
    # Latin-script words: real prose in European languages has a vowel in nearly every word.
    prose = _URL.sub(" ", text)
    words = [w for w in _ASCII_WORD.findall(prose) if not w.isupper()]  # acronyms lack vowels
    if len(words) >= 30 and sum(1 for w in words if _VOWEL.search(w)) < 0.7 * len(words):
        return True
    plain = len(visible) - len(_PLAIN.sub("", visible))
    if plain >= 0.9 * len(visible):
        return False  # nearly all ASCII letters, digits and punctuation: readable
    # Classify at most ~4,000 characters, spread over the page: enough for a share.
    sample = visible[:: max(1, len(visible) // 4000)]
    odd = 0
    for ch in sample:
        cat = unicodedata.category(ch)
        unreadable = cat in ("Co", "Cn", "Cc", "Cs") or ch == "\ufffd"
        if unreadable or (cat[0] == "S" and ch not in _USUAL_SYMBOLS):
            odd += 1
    if odd > 0.15 * len(sample):
        return True
    # Mixed scripts inside a word ("Ã¼ber" style mojibake): Latin letters glued to symbols.
    tokens = _TOKEN.findall(text)
    mixed = sum(1 for t in tokens if _MIXED.search(t) and _LATIN.search(t))
    return len(tokens) >= 20 and mixed > 0.25 * len(tokens)
