"""Pick the sentence of a passage that best supports a criterion, and cite its page.

A passage is a few hundred characters; the reviewer wants the one sentence that carries
the evidence. The choice here is lexical (shared content words with the criterion's
text), which is cheap and explains itself; the quote never crosses a page break, so the
page cited is always the page the quote is printed on.
"""

from __future__ import annotations

import math
import re

from analyzer.criteria.sets import Criterion
from analyzer.sentences import sentence_ends
from analyzer.textkinds import is_label_soup, is_navigation, is_non_evidence, is_table_fragment
from analyzer.types import PAGE_BREAK, Passage, Quote

# A quote may also end where a list item does (analyzer.sentences has the sentence ends).
_LIST_ITEM_END = re.compile(r";\s+")
_WORD = re.compile(r"[a-z][a-z0-9\-]+|\d+")
_STOP = frozenset(
    re.findall(
        r"\w+",
        """a an and are as at be been by for from has have in is it its of on or our that the
        their this to was we were will with which all any not no per such these those than
        more most also into over under within across other only each both can may must
        should would""",
    )
)
MIN_QUOTE = 80
MAX_QUOTE = 400


def terms(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2}


def criterion_terms(criterion: Criterion) -> set[str]:
    return terms(
        " ".join([criterion.name, criterion.definition, *criterion.queries, *criterion.examples])
    )


def _page_segments(passage: Passage) -> list[tuple[int, int, int]]:
    """(start, end, part index) of each page's stretch within the passage text."""
    segments = []
    pos = 0
    for k, part in enumerate(passage.parts):
        length = part.end - part.start
        segments.append((pos, pos + length, k))
        pos += length + len(PAGE_BREAK)
    return segments


def _breaks_after(line: str, following: str | None) -> bool:
    """Does a line end a unit? A PDF wraps lines mid-sentence; a heading or list item is a
    line without a final stop, clearly shorter than the line after it, which starts anew."""
    line, following = line.strip(), (following or "").strip()
    if not following or line[-1] in ".!?;:,":
        return False
    starts_anew = following[0].isupper() or following[0].isdigit() or following[0] in "•-–*"
    return starts_anew and len(line) < 0.7 * len(following)


def _sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, across the PDF's line wraps but not across blank
    lines, headings or list items."""
    lines, pos = [], 0
    for line in text.split("\n"):
        lines.append((pos, pos + len(line), line))
        pos += len(line) + 1
    units: list[tuple[int, int]] = []
    unit_start: int | None = None
    for i, (a, b, line) in enumerate(lines):
        if not line.strip():
            unit_start = None
            continue
        if unit_start is None:
            unit_start = a
            units.append((a, b))
        units[-1] = (unit_start, b)
        following = lines[i + 1][2] if i + 1 < len(lines) else None
        if _breaks_after(line, following):
            unit_start = None
    spans = []
    for a, b in units:
        item_ends = ((m.start() + 1, m.end()) for m in _LIST_ITEM_END.finditer(text, a, b))
        ends = sorted({*sentence_ends(text, a, b), *item_ends})
        start = a
        for end, next_start in ends:
            if next_start <= start:
                continue
            if text[start:end].strip():
                spans.append((start, end))
            start = next_start
        if text[start:b].strip():
            spans.append((start, b))
    return spans


_TITLE_WORD = re.compile(r"^[A-Z0-9&]")


def is_heading(unit: str) -> bool:
    """A heading, a side tab or a sidebar title: short, no final stop, words in capitals or
    capitalised. It is never glued to the evidence sentence it stands beside."""
    unit = unit.strip()
    if not unit or unit[-1] in '.!?;:,)"”’' or len(unit) > 80:
        return False
    words = [w for w in unit.split() if w[:1].isalpha() or w[:1].isdigit()]
    if not words:
        return True
    capitalised = sum(1 for w in words if _TITLE_WORD.match(w) or len(w) <= 3)
    return capitalised >= 0.7 * len(words)


def ends_mid_sentence(unit: str) -> bool:
    """Prose that stops before its sentence does ("... raw materials, the")."""
    unit = unit.rstrip()
    if not unit:
        return False
    last = unit[-1]
    if last in '.!?;:)"”’%。' or last.isdigit():
        return False
    return bool(re.search(r"[a-z]{2,}\W*$", unit)) and not is_heading(unit)


def best_quote(passage: Passage, wanted: set[str]) -> Quote:
    """The best-matching run of sentences (80-400 characters) on a single page: whole
    sentences, without the headings or side tabs around them, never a fragment when a
    whole sentence is there."""
    best: tuple[float, int, int, int] | None = None
    for seg_start, seg_end, k in _page_segments(passage):
        text = passage.text[seg_start:seg_end]
        sentences = _sentences(text)
        for i, (a, b) in enumerate(sentences):
            j = i
            while b - a < MIN_QUOTE and j + 1 < len(sentences):
                if is_heading(text[sentences[j + 1][0] : sentences[j + 1][1]]):
                    break  # a heading after the sentence is not part of it
                j += 1
                b = sentences[j][1]
            if is_heading(text[a:b]) and j > i:
                continue
            found = terms(text[a:b]) & wanted
            score = len(found) / math.sqrt(max(len(terms(text[a:b])), 1))
            score *= min(1.0, (b - a) / MIN_QUOTE)  # a bare heading is no quote
            if text[a].islower():  # the tail of a sentence cut off by the passage split
                score *= 0.7
            if ends_mid_sentence(text[a:b]):  # the head of a sentence cut off
                score *= 0.3
            if is_label_soup(text[a:b]):
                score *= 0.1
            first = text[a : sentences[i][1]]
            if is_non_evidence(text[a:b]) or is_navigation(first) or is_table_fragment(first):
                score *= 0.1  # a heading, a contents line, bare figures: never the quote
            if best is None or score > best[0]:
                best = (score, seg_start + a, seg_start + b, k)
    if best is None:
        part = passage.parts[0]
        text = passage.text[:MAX_QUOTE]
        a, b, k = len(text) - len(text.lstrip()), len(text.rstrip()), 0
        quote = text.strip()
    else:
        _, a, b, k = best
        quote = " ".join(passage.text[a:b].split())
    if len(quote) > MAX_QUOTE:
        quote = quote[:MAX_QUOTE].rsplit(" ", 1)[0] + " …"
        b = a + _raw_length(passage.text[a:b], len(quote) - 2)
    part = passage.parts[k]
    offset = part.start - _page_segments(passage)[k][0]  # passage offset -> page offset
    return Quote(
        quote,
        part.pdf_page,
        part.label_at(a + offset),
        start=a,
        end=b,
        page_start=a + offset,
        page_end=b + offset,
    )


def _raw_length(raw: str, normalised_length: int) -> int:
    """How many characters of raw text give `normalised_length` once whitespace is squeezed."""
    count, i, in_space = 0, 0, False
    stripped = len(raw) - len(raw.lstrip())
    for i, ch in enumerate(raw[stripped:], start=stripped):
        if count >= normalised_length:
            return i
        if ch.isspace():
            if not in_space:
                count += 1
            in_space = True
        else:
            count += 1
            in_space = False
    return len(raw)


def find_span(text: str, quote: str | None) -> tuple[int, int] | None:
    """Where a quote sits in a text, whatever the line breaks and spacing in between."""
    words = (quote or "").removesuffix(" …").split()
    if not words:
        return None
    match = re.search(r"\s+".join(re.escape(w) for w in words), text)
    return match.span() if match else None


def locate_quote(passage_text: str, parts: list[dict], quote: str) -> Quote | None:
    """The provenance of a quote a reviewer took from a stored passage (None if not in it):
    passage span, PDF page, printed label and page span. Used where a quote is written
    (a reviewer's edited quote, the migration of rows stored before spans were kept);
    readers use what was stored."""
    span = find_span(passage_text, quote)
    if span is None:
        return None
    pos = 0
    for part in parts:
        length = part["end"] - part["start"]
        if span[0] < pos + length + len(PAGE_BREAK) or part is parts[-1]:
            offset = part["start"] - pos
            label = part["label"]
            for start, changed in part.get("label_changes") or []:
                if start <= span[0] + offset:
                    label = changed
            return Quote(
                quote,
                part["pdf_page"],
                label,
                start=span[0],
                end=span[1],
                page_start=span[0] + offset,
                page_end=min(span[1], pos + length) + offset,
            )
        pos += length + len(PAGE_BREAK)
    return None


def line_boxes_of(lines: list[list[float]], page_start: int, page_end: int) -> list[list[float]]:
    """Boxes of the page lines ([start, end, x0, top, x1, bottom], as pages.lines stores
    them) that the page span [page_start, page_end) touches."""
    return [list(line[2:6]) for line in lines if line[0] < page_end and line[1] > page_start]


def citation(pdf_page: int, label: str | None) -> str:
    """'p. 91 (PDF p. 57)' when the printed page differs, else 'p. 57'."""
    if label and label != str(pdf_page):
        return f"p. {label} (PDF p. {pdf_page})"
    return f"p. {pdf_page}"
