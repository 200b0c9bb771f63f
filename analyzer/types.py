"""The plain data that flows between the modules: pages, passages, quotes, labels.

Every type here carries its provenance (PDF page, printed page label, boxes, character
span) and nothing else: no I/O, no database, no model. The reading modules make pages,
``passages`` cuts them into passages, ``candidates`` picks quotes, and the database and the
faces only store and show them, so a citation is built once and never re-derived.
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from analyzer.hashes import content_hash

# Pages of a passage are joined by this in its text, so offsets map back to each page.
PAGE_BREAK = "\n\n"

Box = tuple[float, float, float, float]  # (x0, top, x1, bottom) in PDF points, top-left origin


@dataclass(slots=True)
class Span:
    """A stretch of page text (one word or half a hyphenated word) and where it is drawn."""

    start: int
    end: int
    box: Box


@dataclass
class LabelRegion:
    """A printed page number and the horizontal stretch of the PDF page it belongs to."""

    label: str
    x0: float
    x1: float


@dataclass
class ParsedPage:
    number: int  # 1-based PDF page number
    width: float
    height: float
    text: str
    spans: list[Span]  # one per word (half-words where hyphenation was joined)
    lines: list[Span]  # one per line, in reading order
    label: str | None = None
    label_regions: list[LabelRegion] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    def __reduce__(self) -> tuple:
        """Pickle the word and line spans as two flat arrays: a parse in the sandboxed child
        sends tens of thousands of spans to the parent, and packed they cross about four
        times faster than one object each."""
        fields = (self.number, self.width, self.height, self.text, self.label)
        extra = (self.label_regions, self.flags)
        return _unpack_page, (fields, _pack(self.spans), _pack(self.lines), extra)

    def label_at(self, x: float) -> str | None:
        """The printed page number at horizontal position x (spreads carry two)."""
        for region in self.label_regions:
            if region.x0 <= x < region.x1:
                return region.label
        return self.label


def _pack(spans: list[Span]) -> tuple[bytes, bytes]:
    offsets = array("q", [v for s in spans for v in (s.start, s.end)])
    boxes = array("d", [v for s in spans for v in s.box])
    return offsets.tobytes(), boxes.tobytes()


def _unpack(packed: tuple[bytes, bytes]) -> list[Span]:
    offsets, boxes = array("q"), array("d")
    offsets.frombytes(packed[0])
    boxes.frombytes(packed[1])
    b = boxes.tolist()
    return [
        Span(start, end, (b[4 * k], b[4 * k + 1], b[4 * k + 2], b[4 * k + 3]))
        for k, (start, end) in enumerate(zip(offsets[::2], offsets[1::2], strict=True))
    ]


def _unpack_page(fields: tuple, spans: tuple, lines: tuple, extra: tuple) -> ParsedPage:
    number, width, height, text, label = fields
    page = ParsedPage(number, width, height, text, _unpack(spans), _unpack(lines), label)
    page.label_regions, page.flags = extra
    return page


@dataclass
class ParsedDocument:
    path: Path
    sha256: str
    pages: list[ParsedPage]
    notes: list[str] = field(default_factory=list)  # said once to the user (e.g. no OCR)

    @property
    def flags(self) -> dict[str, list[int]]:
        """Page numbers per flag, e.g. {"no_text": [6, 7]}."""
        out: dict[str, list[int]] = defaultdict(list)
        for page in self.pages:
            for flag in page.flags:
                out[flag].append(page.number)
        return dict(out)


@dataclass
class PagePart:
    """The part of a passage that lies on one PDF page."""

    pdf_page: int
    label: str | None
    start: int  # character offsets into that page's text
    end: int
    boxes: list[list[float]] = field(default_factory=list)  # per line: [x0, top, x1, bottom]
    # On a spread (two printed pages on one PDF page): [page offset, printed label] where
    # each printed page's text starts within this part, so a quote is cited to its half.
    label_changes: list[list] = field(default_factory=list)

    def label_at(self, offset: int) -> str | None:
        """The printed page label at a character offset of the page text."""
        label = self.label
        for start, changed in self.label_changes:
            if start <= offset:
                label = changed
        return label


@dataclass
class Passage:
    seq: int  # order in the document, from 0
    text: str
    parts: list[PagePart]

    @property
    def content_hash(self) -> str:
        return content_hash(self.text)

    @property
    def pdf_pages(self) -> list[int]:
        return [p.pdf_page for p in self.parts]

    @property
    def page_labels(self) -> list[str | None]:
        return [p.label for p in self.parts]


@dataclass
class Quote:
    """The sentence of a passage that carries the evidence, with its full provenance.

    ``start``/``end`` are character offsets into the passage text; ``page_start``/``page_end``
    into the text of ``pdf_page``; ``boxes`` are the page lines it is printed on.
    """

    text: str
    pdf_page: int
    page_label: str | None
    start: int = 0
    end: int = 0
    page_start: int | None = None
    page_end: int | None = None
    boxes: list[list[float]] = field(default_factory=list)


@dataclass(frozen=True)
class Label:
    """A labelled quote: evidence or not for one criterion, at a level, with its source."""

    criterion: str
    evidence: bool
    text: str
    level: int | None = None
    document_sha256: str | None = None
    file_name: str | None = None
    pdf_page: int | None = None
    passage_hash: str | None = None
    labelled_by: str = ""
    criteria_version: str | None = None

    @property
    def group(self) -> str:
        """The source document: cross-validation never splits one between train and test."""
        return self.document_sha256 or self.file_name or f"unknown:{self.text[:40]}"

    @property
    def key(self) -> tuple[str, str]:
        """What a later label on the same thing replaces: the passage (or quote) and criterion."""
        return (self.passage_hash or " ".join(self.text.split()).lower(), self.criterion)
