"""Build the bundled sample report: a fictional automaker's sustainability report.

Northwind Motors AG does not exist. The report is written to look like a real CSRD-era
automaker report so that the parser and the evidence finder can be demonstrated and tested
without shipping third-party documents. It deliberately mixes full evidence (dated,
quantified, binding, with implementation data), partial evidence (hedged, undated,
"we expect"), look-alikes (own-operations renewable power, own-employee wages) and gaps
(some criteria are not covered at all).

Layout facts the tests rely on:

* PDF page 1 is the cover, page 2 the contents; neither has a running header or a folio.
  Their page labels are "i" and "ii".
* From PDF page 3 on, every page has the running header ``RUNNING_HEADER`` and a footer
  with the chapter name and the printed folio. Printed folio = PDF page number + 1
  (PDF page 3 prints "4"), and the /PageLabels tree says the same.
* One two-column page (the CEO letter), several ``table()`` tables, soft-hyphenated long
  words in body text (so some lines end in a hyphen), and paragraphs that run over a page
  break.
* The output is byte-for-byte deterministic (fixed creation date and file id).

The text (chapters, cover lines, hyphenation patterns) lives in
``analyzer/data/sample_report.yaml``; this module only lays it out.
"""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from fpdf import FPDF
from fpdf.fonts import FontFace

SAMPLE_FILE_NAME = "northwind-motors-2025-sustainability-report.pdf"
COMPANY = "Northwind Motors AG"
REPORT_TITLE = "Sustainability Report 2025"
RUNNING_HEADER = "Northwind Motors \u00b7 Sustainability Report 2025"
FIRST_CONTENT_PAGE = 3  # 1-based PDF page number of the first page with header and folio
FOLIO_OFFSET = 1  # printed folio = 1-based PDF page number + FOLIO_OFFSET

_CREATED = datetime(2026, 3, 12, 9, 0, 0, tzinfo=UTC)
_FILE_ID = "<4E4F52544857494E4432303235534D50><4E4F52544857494E4432303235534D50>"
_FONT = "Helvetica"
_NAVY = (16, 42, 84)
_TEAL = (0, 118, 116)
_GREY = (105, 105, 105)
_LIGHT = (236, 240, 244)
_BODY_SIZE = 10.5
_LINE_H = 5.3
_PARA_GAP = 2.4
_ALIGN = {"L": "LEFT", "R": "RIGHT", "C": "CENTER"}

_TYPOGRAPHY = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
        "\u2212": "-",
        "\u2022": "-",
        "\u00a0": " ",
        "\u2009": " ",
        "\u2082": "2",
        "\u20ac": "EUR ",
    }
)


def _clean(text: str) -> str:
    """Normalise whitespace and replace characters the latin-1 core font cannot encode."""
    text = " ".join(text.translate(_TYPOGRAPHY).split())
    text.encode("latin-1")  # fail loudly on anything the core font cannot show
    return text


def _hyphenate(text: str) -> str:
    for word, pattern in _HYPHENATION.items():
        soft = pattern.replace("-", "\u00ad")
        text = re.sub(rf"\b{word}", soft, text)
        cap = word[0].upper() + word[1:]
        text = re.sub(rf"\b{cap}", soft[0].upper() + soft[1:], text)
    return text


def _paragraphs(text: str) -> list[str]:
    return [_clean(p) for p in re.split(r"\n\s*\n", text) if p.strip()]


def _load_text() -> dict[str, Any]:
    resource = files("analyzer") / "data" / "sample_report.yaml"
    return yaml.safe_load(resource.read_text(encoding="utf-8"))


def _block(block: dict[str, Any]) -> tuple[str, Any]:
    """Turn a one-entry YAML mapping ``{kind: content}`` into a ``(kind, content)`` block."""
    if len(block) != 1:
        raise ValueError(f"a block must have exactly one kind, got {sorted(block)}")
    ((kind, payload),) = block.items()
    if kind == "table":
        payload = {**payload, "widths": tuple(payload["widths"])}
    return kind, payload


_TEXT = _load_text()
_COVER: dict[str, str] = _TEXT["cover"]
_METADATA: dict[str, str] = _TEXT["metadata"]
# Long words get soft hyphens ("-" marks the break points) so that fpdf2 can hyphenate
# them at line ends. The pattern is applied to every word that starts with the key.
_HYPHENATION: dict[str, str] = _TEXT["hyphenation"]

# Chapters: dicts with "key", "title", "short", "lead" (str or None) and "blocks", a list
# of (kind, content) tuples; the block kinds are described in sample_report.yaml.
CHAPTERS: list[dict[str, Any]] = [
    {**chapter, "blocks": [_block(block) for block in chapter["blocks"]]}
    for chapter in _TEXT["chapters"]
]


class _ReportPDF(FPDF):
    """FPDF with the report's running header and footer and a fixed file id."""

    def __init__(self) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.set_margins(left=22, top=26, right=22)
        self.set_auto_page_break(True, margin=22)
        self.set_creation_date(_CREATED)
        self.set_title(f"{COMPANY} - {REPORT_TITLE}")
        self.set_author(COMPANY)
        self.set_subject(_METADATA["subject"])
        self.set_keywords(_METADATA["keywords"])
        self.set_creator("analyzer.sample")
        self.set_producer("analyzer.sample (fpdf2)")
        self.set_lang("en-GB")
        self.chapter_short = ""

    def file_id(self) -> str:
        return _FILE_ID

    def _is_content_page(self) -> bool:
        return self.page >= FIRST_CONTENT_PAGE

    def header(self) -> None:
        if not self._is_content_page():
            return
        self.set_font(_FONT, size=8)
        self.set_text_color(*_GREY)
        self.set_xy(self.l_margin, 11)
        self.cell(0, 4, RUNNING_HEADER, align="L")
        self.set_draw_color(*_TEAL)
        self.set_line_width(0.3)
        self.line(self.l_margin, 17, self.w - self.r_margin, 17)
        self.set_text_color(0, 0, 0)
        self.set_y(self.t_margin)

    def footer(self) -> None:
        if not self._is_content_page():
            return
        self.set_draw_color(*_GREY)
        self.set_line_width(0.2)
        self.line(self.l_margin, self.h - 16, self.w - self.r_margin, self.h - 16)
        self.set_font(_FONT, size=8)
        self.set_text_color(*_GREY)
        self.set_xy(self.l_margin, self.h - 14)
        self.cell(120, 4, self.chapter_short, align="L")
        self.set_font(_FONT, style="B", size=9)
        self.set_text_color(*_NAVY)
        self.set_xy(self.w - self.r_margin - 20, self.h - 14)
        self.cell(20, 4, str(self.page + FOLIO_OFFSET), align="R")
        self.set_text_color(0, 0, 0)


def _cover(pdf: _ReportPDF) -> None:
    pdf.add_page(label_style="r", label_start=1)
    pdf.set_auto_page_break(False)
    pdf.set_fill_color(*_NAVY)
    pdf.rect(0, 0, pdf.w, 200, style="F")
    pdf.set_fill_color(*_TEAL)
    pdf.rect(0, 200, pdf.w, 6, style="F")
    pdf.set_text_color(255, 255, 255)
    pdf.set_font(_FONT, style="B", size=14)
    pdf.set_xy(22, 40)
    pdf.cell(0, 8, COMPANY)
    pdf.set_font(_FONT, style="B", size=34)
    pdf.set_xy(22, 120)
    pdf.cell(0, 16, REPORT_TITLE)
    pdf.set_font(_FONT, size=14)
    pdf.set_xy(22, 140)
    pdf.cell(0, 8, _COVER["subtitle"])
    pdf.set_xy(22, 149)
    pdf.cell(0, 8, _COVER["period"])
    pdf.set_text_color(*_NAVY)
    pdf.set_font(_FONT, size=11)
    pdf.set_xy(22, 222)
    pdf.cell(0, 6, _COVER["published"])
    pdf.set_text_color(*_GREY)
    pdf.set_font(_FONT, style="I", size=8)
    pdf.set_xy(22, 270)
    pdf.multi_cell(166, 4, _clean(_COVER["disclaimer"]))
    pdf.set_text_color(0, 0, 0)
    pdf.set_auto_page_break(True, margin=22)


def _contents(pdf: _ReportPDF, pages: dict[str, int] | None) -> None:
    pdf.add_page()
    pdf.set_text_color(*_NAVY)
    pdf.set_font(_FONT, style="B", size=22)
    pdf.set_xy(22, 30)
    pdf.cell(0, 12, "Contents", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    for number, chapter in enumerate(CHAPTERS, start=1):
        page = str(pages[chapter["key"]]) if pages else ""
        pdf.set_font(_FONT, style="B", size=11)
        pdf.set_text_color(*_TEAL)
        pdf.cell(12, 9, f"{number:02d}")
        pdf.set_font(_FONT, size=11)
        pdf.set_text_color(0, 0, 0)
        pdf.cell(134, 9, chapter["title"])
        pdf.cell(20, 9, page, align="R", new_x="LMARGIN", new_y="NEXT")
        pdf.set_draw_color(210, 214, 220)
        pdf.line(22, pdf.get_y(), pdf.w - 22, pdf.get_y())


def _chapter_opening(pdf: _ReportPDF, number: int, chapter: dict[str, Any]) -> None:
    pdf.set_font(_FONT, style="B", size=11)
    pdf.set_text_color(*_TEAL)
    pdf.cell(0, 6, f"{number:02d}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(_FONT, style="B", size=20)
    pdf.set_text_color(*_NAVY)
    pdf.multi_cell(0, 9, chapter["title"], new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    if chapter["lead"]:
        pdf.set_font(_FONT, size=11.5)
        pdf.set_text_color(40, 40, 40)
        pdf.multi_cell(0, 6, _clean(chapter["lead"]), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
    pdf.set_draw_color(*_TEAL)
    pdf.set_line_width(0.6)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + 30, pdf.get_y())
    pdf.set_line_width(0.2)
    pdf.ln(6)
    pdf.set_text_color(0, 0, 0)


def _space_left(pdf: _ReportPDF) -> float:
    return pdf.page_break_trigger - pdf.get_y()


def _h2(pdf: _ReportPDF, title: str) -> None:
    if _space_left(pdf) < 28:  # keep a heading together with the start of its text
        pdf.add_page()
    else:
        pdf.ln(2)
    pdf.set_font(_FONT, style="B", size=12.5)
    pdf.set_text_color(*_NAVY)
    pdf.multi_cell(0, 7, _clean(title), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1.5)
    pdf.set_text_color(0, 0, 0)


def _body(pdf: _ReportPDF, text: str) -> None:
    pdf.set_font(_FONT, size=_BODY_SIZE)
    for para in _paragraphs(text):
        pdf.multi_cell(0, _LINE_H, _hyphenate(para), align="J", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(_PARA_GAP)


def _bullets(pdf: _ReportPDF, text: str) -> None:
    pdf.set_font(_FONT, size=_BODY_SIZE)
    indent = 6
    for item in _paragraphs(text):
        if _space_left(pdf) < 2 * _LINE_H:
            pdf.add_page()
        y = pdf.get_y()
        pdf.set_fill_color(*_TEAL)
        pdf.rect(pdf.l_margin + 1, y + 1.9, 1.4, 1.4, style="F")
        pdf.set_x(pdf.l_margin + indent)
        pdf.multi_cell(pdf.epw - indent, _LINE_H, _hyphenate(item), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    pdf.ln(_PARA_GAP)


def _note(pdf: _ReportPDF, text: str) -> None:
    pdf.set_font(_FONT, style="I", size=8)
    pdf.set_text_color(*_GREY)
    pdf.multi_cell(0, 4, _clean(text), new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.ln(_PARA_GAP)


def _table(pdf: _ReportPDF, spec: dict[str, Any], pages: dict[str, int] | None) -> None:
    rows = [
        [cell.strip() for cell in line.split("|")]
        for line in spec["rows"].strip().splitlines()
        if line.strip()
    ]
    needed = 12 + 6.5 * min(len(rows), 6)
    if _space_left(pdf) < needed:
        pdf.add_page()
    pdf.ln(1)
    pdf.set_font(_FONT, style="B", size=9.5)
    pdf.set_text_color(*_NAVY)
    pdf.cell(0, 6, _clean(spec["title"]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.set_font(_FONT, size=9)
    pdf.set_draw_color(190, 196, 204)
    pdf.set_line_width(0.2)
    # fpdf2 paints the "unfilled" rows of a ROWS-filled table with the current fill colour
    pdf.set_fill_color(255, 255, 255)

    def fill(cell: str) -> str:
        return re.sub(r"\{page:(\w+)\}", lambda m: str(pages[m.group(1)]) if pages else "", cell)

    headings = FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=_NAVY)
    with pdf.table(
        col_widths=spec["widths"],
        text_align=tuple(_ALIGN[letter] for letter in spec["align"]),
        headings_style=headings,
        borders_layout="HORIZONTAL_LINES",
        cell_fill_color=_LIGHT,
        cell_fill_mode="ROWS",
        line_height=5.2,
        padding=(1.2, 1.5),
    ) as table:
        for row in rows:
            table_row = table.row()
            for cell in row:
                table_row.cell(_clean(fill(cell)))
    pdf.ln(3)


def _columns(pdf: _ReportPDF, text: str) -> None:
    pdf.set_font(_FONT, size=_BODY_SIZE)
    with pdf.text_columns(ncols=2, gutter=8, text_align="J", line_height=1.32) as cols:
        for para in _paragraphs(text):
            with cols.paragraph(bottom_margin=2.4) as paragraph:
                paragraph.write(_hyphenate(para))


def _render(pages: dict[str, int] | None) -> tuple[_ReportPDF, dict[str, int]]:
    pdf = _ReportPDF()
    _cover(pdf)
    _contents(pdf, pages)
    starts: dict[str, int] = {}
    for number, chapter in enumerate(CHAPTERS, start=1):
        if number == 1:
            pdf.add_page(label_style="D", label_start=FIRST_CONTENT_PAGE + FOLIO_OFFSET)
        else:
            pdf.add_page()
        pdf.chapter_short = chapter["short"]
        starts[chapter["key"]] = pdf.page + FOLIO_OFFSET
        pdf.start_section(chapter["title"], level=0)
        _chapter_opening(pdf, number, chapter)
        for kind, payload in chapter["blocks"]:
            if kind == "h2":
                _h2(pdf, payload)
            elif kind == "p":
                _body(pdf, payload)
            elif kind == "bullets":
                _bullets(pdf, payload)
            elif kind == "note":
                _note(pdf, payload)
            elif kind == "table":
                _table(pdf, payload, pages)
            elif kind == "columns":
                _columns(pdf, payload)
            else:  # pragma: no cover - guards against typos in CHAPTERS
                raise ValueError(f"unknown block kind {kind!r}")
    return pdf, starts


def build_sample_report(path: str | Path) -> Path:
    """Write the fictional Northwind Motors 2025 sample report to ``path`` and return it."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    _, starts = _render(None)  # first pass: find where each chapter starts
    pdf, second = _render(starts)
    if second != starts:  # pragma: no cover - the contents page has a fixed size
        raise RuntimeError("chapter pages moved between layout passes")
    pdf.output(str(out))
    return out


if __name__ == "__main__":
    print(build_sample_report(sys.argv[1] if len(sys.argv) > 1 else SAMPLE_FILE_NAME))
