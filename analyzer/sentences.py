"""Where a sentence ends: the one rule the splitter and the quote picker share.

A PDF's text wraps lines in mid-sentence, abbreviates ("e.g.", "Co.", "z. B.") and numbers
("4.5"), so a full stop alone is no sentence end: it must be followed by white space and
then by something that starts a sentence (a capital, a digit, a bullet, a quote), and the
word before it must not be a known abbreviation or an initial. Japanese full stops end a
sentence with no space after them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

BULLET = r"(?:[•·▪■●○◦‣►▶✓✔➢➤□–—\-*]|\(?\d{1,2}[.)]|\(?[a-z][.)]|\([ivx]{1,4}\))\s"
END_PUNCT = (".", "!", "?", "…", ":", ";", "。", "！", "？", ")", '"', "”", "’")
ABBREVIATIONS = frozenset(
    [
        "e.g",
        "i.e",
        "approx",
        "incl",
        "excl",
        "no",
        "nos",
        "nr",
        "vs",
        "cf",
        "dr",
        "mr",
        "mrs",
        "ms",
        "prof",
        "st",
        "co",
        "inc",
        "ltd",
        "corp",
        "fig",
        "figs",
        "p",
        "pp",
        "art",
        "arts",
        "sec",
        "para",
        "ca",
        "bzw",
        "vgl",
        "z.b",
        "u.a",
        "d.h",
        "ggf",
        "inkl",
        "abs",
        "nr",
        "ziff",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "est",
        "min",
        "max",
        "resp",
    ]
)
TERMINAL = re.compile(r"[.!?…]+[\"'”’)\]¹²³⁴⁵⁶⁷⁸⁹⁰*]*(?=\s)|[。！？]+[」』）]*")
STARTS_SENTENCE = re.compile(r"[A-ZÀ-ÖØ-Þ0-9\"'“‘(\[•·▪■●○◦‣►▶✓✔➢➤□–—\-*]|[^\x00-\u2fff]")
WORD_BEFORE = re.compile(r"([\w.]+)$")


def sentence_ends(text: str, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int]]:
    """(end of a sentence, start of the next) for each sentence end in text[start:end]."""
    end = len(text) if end is None else end
    for m in TERMINAL.finditer(text, start, end):
        nxt = skip_space(text, m.end(), end)
        if nxt >= end:
            continue
        if m.group()[0] in "。！？":
            yield m.end(), nxt
        elif m.group() == "." and is_abbreviation(text, m.start()):
            continue
        elif STARTS_SENTENCE.match(text, nxt):
            yield m.end(), nxt


def skip_space(text: str, i: int, end: int | None = None) -> int:
    """The first non-space position at or after i (or `end`)."""
    end = len(text) if end is None else end
    while i < end and text[i].isspace():
        i += 1
    return i


def is_abbreviation(text: str, dot: int) -> bool:
    """Is the word before the full stop at `dot` an abbreviation or an initial?"""
    match = WORD_BEFORE.search(text, max(0, dot - 12), dot)
    word = match.group(1).lower() if match else ""
    return word in ABBREVIATIONS or (len(word) == 1 and word.isalpha())
