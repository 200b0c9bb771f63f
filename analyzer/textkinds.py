"""What kind of text a passage or a quote is: navigation, a table fragment, or prose.

A reviewer must never be shown, as a criterion's best evidence, text that only points at
evidence elsewhere (a table of contents, a heading, a side tab, a cross-reference) or
numbers torn from their table ("Nickel 71% 11 8 Graphite 46%"). These rules are shared by
the quote picker (which prefers prose within a passage) and the candidate ranking (which
puts a passage whose best quote is such text after every passage that could be evidence).
"""

from __future__ import annotations

import re

DOT_LEADER = re.compile(r"(\.\s?){4,}|…{2,}")
PAGE_REF = re.compile(r"(?:^|\s)\d{1,3}\s*$", re.M)
_SENTENCE = re.compile(r"[a-zà-ÿ0-9)%][.!?](?:\s|$)|[。！？]")
_WORD = re.compile(r"\b[^\W\d_]{3,}\b")
MIN_EVIDENCE = 40  # characters: shorter text is a label or a footnote, not a statement


def width(text: str) -> int:
    """Length with a CJK character counted twice (it carries about a word's meaning)."""
    return len(text) + sum(1 for ch in text if ch >= "\u3000")


def has_sentence(text: str) -> bool:
    """Does the text hold at least one finished sentence?"""
    return bool(_SENTENCE.search(text))


def is_navigation(text: str) -> bool:
    """A table of contents, a run of headings or a cross-reference: text that points at
    evidence elsewhere and never is evidence itself."""
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    if not lines:
        return True
    sentences = len(re.findall(r"[a-z][.!?](?:\s|$)", text))
    if DOT_LEADER.search(text):
        return True
    numbered = sum(1 for ln in lines if re.search(r"\s\d{1,3}$", ln))
    if len(lines) >= 3 and numbered >= 0.5 * len(lines) and sentences == 0:
        return True
    # a short line with no sentence and no figure (a trailing page number aside): a heading
    body = re.sub(r"\s\d{1,3}\s*$", "", text.strip())
    if len(body) < 80 and sentences == 0 and not re.search(r"\d", body):
        return True
    # a side tab or a running head in capitals
    letters = [ch for ch in body if ch.isalpha()]
    capitals = sum(ch.isupper() for ch in letters)
    return len(body) < 160 and sentences == 0 and capitals >= 0.8 * max(len(letters), 1)


def is_table_fragment(text: str) -> bool:
    """Figures with too few words to say what they measure, and no sentence around them."""
    if has_sentence(text) or not re.search(r"\d", text):
        return False
    return len(_WORD.findall(text)) < 4


def is_non_evidence(text: str) -> bool:
    """Text that is never shown first as a criterion's evidence."""
    stripped = text.strip()
    return width(stripped) < MIN_EVIDENCE or is_navigation(stripped) or is_table_fragment(stripped)
