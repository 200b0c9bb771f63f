"""Page layout: words to lines, reading order across columns, and the page's running text.

Designed reports usually store text frame by frame, so PDFium's content order is most
often the reading order already. Where it is not (a two-column page written row by
row), the lines are re-ordered geometrically: a vertical gutter that no prose line
crosses splits the page into columns, read left column first, with lines that span the
gutter (titles, full-width paragraphs) cutting the page into bands.
"""

from __future__ import annotations

import re
import statistics

import numpy as np

from analyzer.reading.pdftext import SOFT_HYPHENS, Word
from analyzer.types import Box, Span


class Line:
    """Words that sit on one baseline with no wide gap between them."""

    __slots__ = ("words", "box")

    def __init__(self, words: list[Word], box: Box | None = None):
        self.words = words
        self.box: Box = box or (
            min(w.box[0] for w in words),
            min(w.box[1] for w in words),
            max(w.box[2] for w in words),
            max(w.box[3] for w in words),
        )

    def append(self, word: Word) -> None:
        b, w = self.box, word.box
        self.words.append(word)
        self.box = (min(b[0], w[0]), min(b[1], w[1]), max(b[2], w[2]), max(b[3], w[3]))

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    @property
    def font_size(self) -> float:
        return self.words[0].font_size


def _height(box: Box) -> float:
    return max(box[3] - box[1], 0.1)


def group_lines(words: list[Word]) -> list[Line]:
    """Group words, in content order, into lines; a wide gap (a gutter) starts a new line."""
    lines: list[Line] = []
    current: list[Word] = []
    p1 = p2 = p3 = 0.0  # box of the previous word (top, right, bottom)
    l0 = l1 = l2 = l3 = 0.0  # box of the current line
    for word in words:
        b0, b1, b2, b3 = word.box
        if current:
            h = min(max(p3 - p1, 0.1), max(b3 - b1, 0.1))
            overlap = (p3 if p3 < b3 else b3) - (p1 if p1 > b1 else b1)
            gap = b0 - p2
            if overlap >= 0.5 * h and -0.5 * h <= gap <= 1.2 * max(h, 4.0):
                current.append(word)
                p1, p2, p3 = b1, b2, b3
                if b0 < l0:
                    l0 = b0
                if b1 < l1:
                    l1 = b1
                if b2 > l2:
                    l2 = b2
                if b3 > l3:
                    l3 = b3
                continue
            lines.append(Line(current, (l0, l1, l2, l3)))
        current = [word]
        p1, p2, p3 = b1, b2, b3
        l0, l1, l2, l3 = b0, b1, b2, b3
    if current:
        lines.append(Line(current, (l0, l1, l2, l3)))
    return lines


def _find_gutter(lines: list[Line], x0: float, x1: float) -> tuple[float, float] | None:
    """Return the x-range of an empty vertical band that separates two columns of prose."""
    width = x1 - x0
    if width <= 0 or len(lines) < 6:
        return None
    narrow = [ln for ln in lines if (ln.box[2] - ln.box[0]) < 0.6 * width]
    if len(narrow) < 6:
        return None
    step = 2.0
    n_bins = int(width / step) + 1
    # How many lines cover each 2-pt column of the region (difference array, then cumsum).
    delta = np.zeros(n_bins + 1, dtype=np.int32)
    for ln in lines:
        delta[min(n_bins - 1, max(0, int((ln.box[0] - x0) / step)))] += 1
        delta[min(n_bins - 1, max(0, int((ln.box[2] - x0) / step))) + 1] -= 1
    cover = np.cumsum(delta[:n_bins]).tolist()
    # A few lines may cross the gutter: titles and full-width paragraphs cut it into bands.
    allowed = max(1, len(lines) // 8)
    lo, hi = int(0.2 * n_bins), int(0.8 * n_bins)
    best: tuple[int, int] | None = None
    run_start = None
    for i in range(lo, hi + 1):
        empty = i < hi and cover[i] <= allowed
        if empty and run_start is None:
            run_start = i
        elif not empty and run_start is not None:
            if best is None or (i - run_start) > (best[1] - best[0]):
                best = (run_start, i)
            run_start = None
    if best is None or (best[1] - best[0]) * step < max(6.0, 0.012 * width):
        return None
    g0, g1 = x0 + best[0] * step, x0 + best[1] * step
    min_prose = 0.18 * width

    def prose(ln: Line) -> bool:
        return (ln.box[2] - ln.box[0]) >= min_prose and len(ln.words) >= 4

    left = [ln for ln in narrow if ln.box[2] <= g0 + step]
    right = [ln for ln in narrow if ln.box[0] >= g1 - step]
    if sum(map(prose, left)) < 3 or sum(map(prose, right)) < 3:
        return None
    return g0, g1


def reading_order(lines: list[Line], x0: float, x1: float, depth: int = 0) -> list[Line]:
    """Order lines for reading: columns left to right within bands cut by spanning lines."""
    gutter = _find_gutter(lines, x0, x1) if depth < 3 else None
    if gutter is None:
        return lines
    g0, g1 = gutter
    mid = (g0 + g1) / 2
    spanning = sorted(
        (ln for ln in lines if ln.box[0] < g0 and ln.box[2] > g1), key=lambda ln: ln.box[1]
    )
    spanning_ids = {id(ln) for ln in spanning}
    others = [ln for ln in lines if id(ln) not in spanning_ids]
    ordered: list[Line] = []
    band_top = float("-inf")
    for cut in [*spanning, None]:
        band_bottom = cut.box[1] if cut is not None else float("inf")
        band = [ln for ln in others if band_top <= ln.box[1] < band_bottom]
        left = [ln for ln in band if (ln.box[0] + ln.box[2]) / 2 < mid]
        right = [ln for ln in band if (ln.box[0] + ln.box[2]) / 2 >= mid]
        ordered += reading_order(left, x0, g0, depth + 1)
        ordered += reading_order(right, g1, x1, depth + 1)
        if cut is not None:
            ordered.append(cut)
            band_top = cut.box[1]
    # Lines above the first band edge that fell outside every band keep their place at the end.
    seen = {id(ln) for ln in ordered}
    ordered += [ln for ln in lines if id(ln) not in seen]
    return ordered


_LOWER_START = re.compile(r"^[a-zà-öø-ÿß]")
_HYPHEN_END = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ]-$")


def compose_text(lines: list[Line]) -> tuple[str, list[Span], list[Span]]:
    """Join ordered lines into page text with paragraph breaks, joining line-end hyphenation.

    Returns the text, a span per word and a span per line (offsets into the text, boxes).
    """
    if not lines:
        return "", [], []
    body_size = statistics.median(ln.font_size for ln in lines) or 1.0
    parts: list[str] = []
    spans: list[Span] = []
    pos = 0
    prev_line: Line | None = None
    prev_text: str | None = None
    prev_soft = False
    line_spans: list[Span] = []
    for line in lines:
        first = len(spans)
        for k, word in enumerate(line.words):
            text = word.text
            soft_end = text[-1] in SOFT_HYPHENS  # pieces end at a soft hyphen, never hold one
            if soft_end:
                text = text[:-1]
            if prev_soft and text and not _LOWER_START.match(text):
                # PDFium marks every line-end hyphen the same way; before a capital or a
                # digit ("CO2-" / "Neutral") the hyphen is real and stays.
                parts.append("-")
                pos += 1
            if prev_text is not None and not prev_soft:
                if k == 0 and _HYPHEN_END.search(prev_text) and _LOWER_START.match(text):
                    # "responsi-" + "bility": drop the hyphen and join the halves.
                    parts[-1] = parts[-1][:-1]
                    pos -= 1
                    last = spans[-1]
                    spans[-1] = Span(last.start, last.end - 1, last.box)
                else:
                    sep = " " if k > 0 else _line_separator(prev_line, line, body_size)
                    parts.append(sep)
                    pos += len(sep)
            prev_soft = soft_end
            if not text:
                continue
            parts.append(text)
            spans.append(Span(pos, pos + len(text), word.box))
            pos += len(text)
            prev_text = text
        if len(spans) > first:
            line_spans.append(Span(spans[first].start, spans[-1].end, line.box))
        prev_line = line
    return "".join(parts), spans, line_spans


def _line_separator(prev: Line | None, line: Line, body_size: float) -> str:
    """A newline, or a blank line where a paragraph, heading or column changes."""
    if prev is None:
        return "\n"
    pb, b = prev.box, line.box
    h = max(min(_height(pb), _height(b)), 1.0)
    same_row = min(pb[3], b[3]) - max(pb[1], b[1]) >= 0.5 * h and b[0] > pb[2]
    if same_row:
        return " "  # cells of one table row, or a line cut by a wide gap
    gap = b[1] - pb[3]
    size_change = abs(line.font_size - prev.font_size) > 0.15 * body_size
    if gap > 0.8 * h or gap < -h or size_change:
        return "\n\n"
    return "\n"
