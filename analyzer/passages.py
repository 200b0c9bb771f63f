"""Split a parsed document into passages that keep exact citations.

The splitting itself is langchain-text-splitters' RecursiveCharacterTextSplitter, which
prefers paragraph breaks, then line breaks, then sentence ends. The document text is the
pages' texts joined by a page break, so a passage can run across a page; each passage is
then mapped back to character offsets on every page it touches, and to the boxes of its
words there, which is what makes a citation checkable.
"""

from __future__ import annotations

import bisect
import re

from langchain_text_splitters import RecursiveCharacterTextSplitter

from analyzer.types import PAGE_BREAK, PagePart, ParsedDocument, ParsedPage, Passage, Span

DEFAULT_SIZE = 800
DEFAULT_OVERLAP = 100
SEPARATORS = ["\n\n", "\n", ". ", "; ", ", ", " ", ""]


def split_passages(
    doc: ParsedDocument, size: int = DEFAULT_SIZE, overlap: int = DEFAULT_OVERLAP
) -> list[Passage]:
    """Cut the document into passages of about `size` characters with `overlap` shared."""
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
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=size,
        chunk_overlap=min(overlap, size // 2),
        separators=SEPARATORS,
        keep_separator="end",
        strip_whitespace=True,
    )
    spans: list[list[int]] = []
    cursor = 0
    for piece in splitter.split_text(full):
        begin = full.find(piece, cursor)
        if begin < 0:  # the splitter only strips whitespace, so this should not happen
            continue
        spans.append([begin, begin + len(piece)])
        cursor = begin + 1
    span_ends = [[s.end for s in page.spans] for page in pages]
    passages: list[Passage] = []
    for begin, end in _move_trailing_headings(full, spans):
        parts = _page_parts(pages, starts, span_ends, begin, end)
        if parts:
            passages.append(Passage(len(passages), full[begin:end], parts))
    return passages


_HEADING_TAIL = re.compile(r"\n\n([^\n]{1,80})$")


def _move_trailing_headings(full: str, spans: list[list[int]]) -> list[list[int]]:
    """Move a heading left dangling at a passage's end to the start of the next passage.

    The splitter fills passages greedily, so a section heading can end one passage while
    its section starts the next; the heading belongs with its section.
    """
    for k in range(len(spans) - 1):
        begin, end = spans[k]
        match = _HEADING_TAIL.search(full, begin, end)
        if not match or match.start() == begin:
            continue
        if match.group(1).rstrip().endswith((".", ":", ";", ",")):
            continue  # a short last sentence, not a heading
        heading_start = match.start(1)
        spans[k][1] = len(full[begin : match.start()].rstrip()) + begin
        spans[k + 1][0] = min(spans[k + 1][0], heading_start)
    return spans


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
