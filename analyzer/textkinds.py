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


# A reporting framework's disclosure code: GRI 2-28, GRI 414-1, 308-2, SASB TR-AU-440a.1,
# ESRS S2-1, TCFD, UN Global Compact principles, SDG 8.
INDEX_CODE = re.compile(
    r"\bGRI\s?\d{1,3}(?:-\d{1,2})?\b|(?<![\d.,])\b[1-4]\d{2}-\d{1,2}\b(?![\d.,%])"
    r"|\b[A-Z]{2}-[A-Z]{2}-\d{3}[a-z]\.\d\b|\bESRS\s?(?:[ESG]\d|2)(?:-\d+)?\b|\bTCFD\b"
    r"|\bUNGC\b|\bPrinciples?\s\d{1,2}\b|\bSDG\s?\d{1,2}\b"
)
# A pointer to where the disclosure is: "see page 45", "Sustainability Report, p. 12".
SEE_ELSEWHERE = re.compile(
    r"\b(?:see|refer to|reported in|disclosed in)\b[^.\n]{0,60}?\b(?:pages?|p\.|pp\.|section"
    r"|chapter|report|website)\b|\b(?:pp?\.|pages?)\s?\d{1,3}\b",
    re.IGNORECASE,
)


_BIG_FIGURE = re.compile(r"\b\d{1,3}(?:,\d{3})+\b|\b\d{4,}\b")


def is_reporting_index(text: str) -> bool:
    """A GRI/SASB/TCFD/ESRS/UN Global Compact index or a "see page" table: rows that name a
    disclosure and say where it is. It points at evidence elsewhere and never is evidence,
    even when its cells name the right policy ("Supplier Code of Conduct • Human Rights
    Policy")."""
    figures = [f for f in _BIG_FIGURE.findall(text) if not re.fullmatch(r"(?:19|20)\d\d", f)]
    if len(figures) >= 2:  # a data table that cites its GRI code in a column is data
        return False
    codes = len(INDEX_CODE.findall(text))
    pointers = len(SEE_ELSEWHERE.findall(text))
    if codes + pointers < 3:
        return False
    lines = [ln for ln in text.split("\n") if ln.strip()]
    sentences = len(re.findall(r"[a-z][.!?](?:\s|$)", text))
    # an index is many short cells: few finished sentences for its codes and pointers
    return (
        codes >= 2
        and sentences <= max(2, (codes + pointers) // 2)
        or (pointers >= 3 and sentences <= pointers // 2 and len(lines) >= 3)
    )


def is_label_soup(text: str) -> bool:
    """Diagram labels read as one run ("Energy expenditure for CO2 emissions Energy
    expenditure ..."): no finished sentence, and the same words over and over."""
    if has_sentence(text):
        return False
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) < 6:
        return False
    pairs = list(zip(words, words[1:], strict=False))
    return len(set(pairs)) <= 0.7 * len(pairs) or len(set(words)) <= 0.5 * len(words)


def is_non_evidence(text: str) -> bool:
    """Text that is never shown first as a criterion's evidence, nor counted as evidence."""
    stripped = text.strip()
    return (
        width(stripped) < MIN_EVIDENCE
        or is_navigation(stripped)
        or is_table_fragment(stripped)
        or is_reporting_index(stripped)
        or is_label_soup(stripped)
    )
