"""Split a parsed document into passages that keep exact citations.

A passage is cut only between sentences, and a list stays whole with the sentence that
introduces it: the level a criterion earns often rests on the end of a list ("tin,
tungsten, tantalum and gold (3TG), and aluminium, copper, ..."), so a cut inside one hides
the evidence. The document text is the pages' texts joined by a page break, so a passage
can run across a page; each passage is then mapped back to character offsets on every page
it touches, and to the boxes of its words there, which is what makes a citation checkable.

How it cuts, in three steps over the joined text:

1. **Sentences.** A sentence ends at ``.``, ``!``, ``?`` (or ``。！？``) followed by a capital,
   a digit, a bullet or a quote, but not after a known abbreviation or an initial. A line
   break inside a paragraph is a line wrap, not an end; a paragraph break ends a sentence
   unless the next paragraph starts in lower case (a sentence running on across a column or
   page). A new line that starts with a bullet, or follows a line ending in ``:``, starts a
   new unit.
2. **Blocks.** A short unit with no end punctuation (a heading) joins the unit after it; an
   introduction ending in ``:`` joins the list items after it, and the items join each other.
   A block longer than ``size * 1.5`` is split between its items, and a sentence that long
   (a table read as one run of text) at line breaks.
3. **Passages.** Blocks are packed up to ``size`` characters; a block that would overflow
   starts the next passage, unless the passage so far is under a third of ``size``, when it
   may grow to ``size * 1.5``. The next passage repeats the last whole sentences of the one
   before, up to ``overlap`` characters.
"""

from __future__ import annotations

import bisect
import re

from langchain_text_splitters import RecursiveCharacterTextSplitter

from analyzer.sentences import BULLET, END_PUNCT, sentence_ends, skip_space
from analyzer.types import PAGE_BREAK, PagePart, ParsedDocument, ParsedPage, Passage, Span

SPLITTER_VERSION = "2"  # 2: cut between sentences, lists kept whole (1: character splitter)
DEFAULT_SIZE = 800
DEFAULT_OVERLAP = 100
SLACK = 1.5  # a list or sentence may take a passage this far past `size` to finish
HEADING_MAX = 100  # characters: a unit this short with no end punctuation is a heading
_FALLBACK_SEPARATORS = ["\n\n", "\n", "; ", ", ", " ", ""]

_BULLET_AT = re.compile(BULLET)
_BLANK_LINE = re.compile(r"\n[ \t]*\n")


def split_passages(
    doc: ParsedDocument, size: int = DEFAULT_SIZE, overlap: int = DEFAULT_OVERLAP
) -> list[Passage]:
    """Cut the document into passages of about `size` characters, between sentences, with
    up to `overlap` characters of whole sentences shared by neighbours."""
    # Unreadable pages give no passages: their "text" would only pollute the embeddings.
    pages = [p for p in doc.pages if p.text.strip() and not {"no_text", "garbled"} & set(p.flags)]
    if not pages:
        return []
    starts: list[int] = []
    chunks: list[str] = []
    pos = 0
    for page in pages:
        starts.append(pos)
        chunks.append(page.text)
        pos += len(page.text) + len(PAGE_BREAK)
    full = PAGE_BREAK.join(chunks)
    span_ends = [[s.end for s in page.spans] for page in pages]
    passages: list[Passage] = []
    for begin, end in passage_spans(full, size, overlap):
        parts = _page_parts(pages, starts, span_ends, begin, end)
        if parts:
            passages.append(Passage(len(passages), full[begin:end], parts))
    return passages


def passage_spans(
    text: str, size: int = DEFAULT_SIZE, overlap: int = DEFAULT_OVERLAP
) -> list[tuple[int, int]]:
    """(begin, end) offsets of the passages of `text` (see the module docstring)."""
    hard_max = int(size * SLACK)
    blocks: list[tuple[int, int]] = []
    for block in _blocks(text, _units(text)):
        if block[-1][1] - block[0][0] <= hard_max:
            blocks.append((block[0][0], block[-1][1]))
        else:
            blocks += _split_long(text, block, size)
    spans: list[tuple[int, int]] = []
    current: list[tuple[int, int]] = []
    for span in blocks:
        if current:
            length = span[1] - current[0][0]
            short = current[-1][1] - current[0][0] < size / 3
            if length <= size or (short and length <= hard_max):
                current.append(span)
                continue
            spans.append((current[0][0], current[-1][1]))
            current = _overlap(current, overlap) + [span]
            if span[1] - current[0][0] > hard_max:
                current = [span]
            continue
        current = [span]
    if current:
        spans.append((current[0][0], current[-1][1]))
    return spans


def _overlap(blocks: list[tuple[int, int]], overlap: int) -> list[tuple[int, int]]:
    """The last whole blocks of a passage within `overlap` characters (never all of it)."""
    kept: list[tuple[int, int]] = []
    for block in reversed(blocks[1:]):
        if blocks[-1][1] - block[0] > overlap:
            break
        kept.insert(0, block)
    return kept


def _units(text: str) -> list[tuple[int, int]]:
    """Sentences, list items and paragraphs: the spans a passage is never cut inside."""
    cuts = {0} | {nxt for _, nxt in sentence_ends(text)}
    for m in re.finditer(r"\n[ \t]*\n\s*", text):  # paragraph breaks
        nxt = m.end()
        if nxt >= len(text):
            continue
        before = text[max(0, m.start() - 1) : m.start()]
        if text[nxt].islower() and not before.endswith(END_PUNCT):
            continue  # the sentence runs on across a column or a page
        cuts.add(nxt)
    for m in re.finditer(r"\n[ \t]*", text):
        nxt = m.end()
        prev = m.start() - 1
        while prev >= 0 and text[prev] in " \t":
            prev -= 1
        if _BULLET_AT.match(text, nxt) or (prev >= 0 and text[prev] == ":"):
            cuts.add(nxt)
    units = []
    bounds = sorted(cuts) + [len(text)]
    for a, b in zip(bounds, bounds[1:], strict=False):
        a = skip_space(text, a)
        b = len(text[a:b].rstrip()) + a
        if b > a:
            units.append((a, b))
    return units


def _blocks(text: str, units: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """Units grouped so that a heading stays with what follows it and a list stays whole."""
    blocks: list[list[tuple[int, int]]] = []
    in_list = False
    for a, b in units:
        bullet = bool(_BULLET_AT.match(text, a))
        if blocks:
            pa, pb = blocks[-1][-1]
            previous = text[pa:pb]
            heading = pb - pa < HEADING_MAX and not previous.endswith(END_PUNCT)
            intro = previous.endswith(":")
            new_paragraph = bool(_BLANK_LINE.search(text, pb, a))
            joins = heading or (bullet and (intro or in_list)) or (in_list and not new_paragraph)
            if joins:
                blocks[-1].append((a, b))
                in_list = in_list or bullet
                continue
        blocks.append([(a, b)])
        in_list = bullet
    return blocks


def _split_long(text: str, block: list[tuple[int, int]], size: int) -> list[tuple[int, int]]:
    """A block too long for one passage: cut between its units, and a unit that is itself
    too long (a table read as one run of text) at line breaks, then spaces."""
    out: list[tuple[int, int]] = []
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=size, chunk_overlap=0, separators=_FALLBACK_SEPARATORS,
        keep_separator="end", strip_whitespace=True,
    )  # fmt: skip
    for a, b in block:
        if out and b - out[-1][0] <= size:
            out[-1] = (out[-1][0], b)
        elif b - a <= size:
            out.append((a, b))
        else:
            cursor = a
            for piece in splitter.split_text(text[a:b]):
                begin = text.find(piece, cursor, b)
                if begin >= 0:
                    out.append((begin, begin + len(piece)))
                    cursor = begin + len(piece)
    return out


def _page_parts(
    pages: list[ParsedPage],
    starts: list[int],
    span_ends: list[list[int]],
    begin: int,
    end: int,
) -> list[PagePart]:
    first = bisect.bisect_right(starts, begin) - 1
    parts: list[PagePart] = []
    for k in range(first, len(pages)):
        page, page_start = pages[k], starts[k]
        if page_start >= end:
            break
        a = max(begin - page_start, 0)
        b = min(end - page_start, len(page.text))
        if b <= a or not page.text[a:b].strip():
            continue
        boxes = line_boxes(page.spans, a, b, span_ends[k])
        part = PagePart(page.number, page.label, a, b, boxes)
        if page.label_regions:
            part.label_changes = _label_changes(page, a, b, span_ends[k])
            present = {label for _, label in part.label_changes}
            labels = [r.label for r in page.label_regions if r.label in present]
            part.label = "-".join(labels) if labels else page.label
        parts.append(part)
    return parts


def _label_changes(page: ParsedPage, start: int, end: int, ends: list[int]) -> list[list]:
    """Where, within [start, end) of a spread page, each printed page's text begins."""
    changes: list[list] = []
    k = bisect.bisect_right(ends, start)
    while k < len(page.spans) and page.spans[k].start < end:
        span = page.spans[k]
        label = page.label_at((span.box[0] + span.box[2]) / 2)
        if not changes or changes[-1][1] != label:
            changes.append([max(span.start, start), label])
        k += 1
    if changes:
        changes[0][0] = start
    return changes


def line_boxes(
    spans: list[Span], start: int, end: int, ends: list[int] | None = None
) -> list[list[float]]:
    """Boxes of the words in [start, end), merged into one box per line.

    `ends` (the spans' end offsets) can be passed in when many ranges of one page are asked.
    """
    if ends is None:
        ends = [s.end for s in spans]
    k = bisect.bisect_right(ends, start)
    boxes: list[list[float]] = []
    while k < len(spans) and spans[k].start < end:
        x0, top, x1, bottom = spans[k].box
        if boxes:
            last = boxes[-1]
            h = min(bottom - top, last[3] - last[1])
            same_line = min(bottom, last[3]) - max(top, last[1]) >= 0.5 * h and x0 >= last[0]
            if same_line and x0 - last[2] < 3 * max(h, 1.0):
                last[0], last[1] = min(last[0], x0), min(last[1], top)
                last[2], last[3] = max(last[2], x1), max(last[3], bottom)
                k += 1
                continue
        boxes.append([x0, top, x1, bottom])
        k += 1
    return [[round(v, 1) for v in box] for box in boxes]
