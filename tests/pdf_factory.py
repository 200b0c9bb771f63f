"""Generate small PDFs with exactly known content for the parser tests.

Every helper writes to the given path (parent folders are created) and returns the facts a
test asserts on. Only fpdf2 core fonts are used, so all text must be latin-1.

Facts about how pypdfium2 (PDFium) extracts these files, checked when this module was written:

* A line that ends in "-" (U+002D) and is followed by another line is joined to it: the
  hyphen comes back as U+FFFE from ``get_text_range()`` and as ``"\\x02"`` from
  ``get_text_bounded()``, and the line break between the two lines is dropped. PDFium does
  this for any trailing hyphen, including real compounds ("supply-" / "chain").
* A literal soft hyphen (U+00AD, byte 0xAD in the content stream) behaves the same way at a
  line end.
* A document without a /PageLabels tree gives ``""`` from ``PdfDocument.get_page_label(i)``.
* Text on the same baseline in two columns comes back as one line ("left right") in content
  order, so a naive reader interleaves columns.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF
from PIL import Image, ImageDraw

FIXED_DATE = datetime(2025, 1, 15, 12, 0, 0, tzinfo=UTC)
ENCRYPTED_USER_PASSWORD = "test-user-pw"
ENCRYPTED_OWNER_PASSWORD = "test-owner-pw"


class _FixedFPDF(FPDF):
    """FPDF with a fixed date and file id, so the same bytes come out on every run."""

    def __init__(self) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.set_creation_date(FIXED_DATE)
        self.set_auto_page_break(False)
        self.set_font("Helvetica", size=11)

    def file_id(self) -> str:
        return "<" + "0" * 32 + "><" + "0" * 32 + ">"


def _out(pdf: FPDF, path: str | Path) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(p))
    return p


TWO_COL_TITLE = "Responsible Sourcing Update for Tier-Two Suppliers"
TWO_COL_LEFT = [
    "Our steel buyers signed a binding offtake",
    "agreement for low-emission flat steel that",
    "starts with deliveries to the body shop in",
    "the spring, rising each quarter until the",
    "plant in the north reaches full capacity.",
    "Every coil is tracked from the mill to our",
    "press line so that emissions are counted.",
]
TWO_COL_RIGHT = [
    "Cobalt refiners in the battery chain were",
    "mapped back to the mine of origin and the",
    "list of audited smelters is published on",
    "our website once a year, together with a",
    "summary of open findings, corrective plans",
    "and the grievances received by the hotline.",
    "Unaudited refiners receive a firm deadline.",
]


def two_column_pdf(path: str | Path) -> dict:
    """One page: a full-width title, then two columns written line-by-line in zigzag order."""
    pdf = _FixedFPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=14)
    pdf.text(20, 25, TWO_COL_TITLE)
    pdf.set_font("Helvetica", size=10)
    left_x, right_x, y0, step = 20.0, 110.0, 40.0, 5.5
    for i in range(max(len(TWO_COL_LEFT), len(TWO_COL_RIGHT))):
        y = y0 + i * step
        if i < len(TWO_COL_LEFT):
            pdf.text(left_x, y, TWO_COL_LEFT[i])
        if i < len(TWO_COL_RIGHT):
            pdf.text(right_x, y, TWO_COL_RIGHT[i])
    _out(pdf, path)
    return {"title": TWO_COL_TITLE, "left": list(TWO_COL_LEFT), "right": list(TWO_COL_RIGHT)}


def _roman_lower(n: int) -> str:
    vals = [(1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc")]
    vals += [(50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")]
    out = ""
    for v, s in vals:
        while n >= v:
            out += s
            n -= v
    return out


def labelled_pdf(path: str | Path, n_pages: int = 6) -> list[str]:
    """PDF with /PageLabels: first two pages "i", "ii", then decimal from 10; returns labels."""
    pdf = _FixedFPDF()
    labels: list[str] = []
    for i in range(n_pages):
        if i == 0:
            pdf.add_page(label_style="r", label_start=1)
        elif i == 2:
            pdf.add_page(label_style="D", label_start=10)
        else:
            pdf.add_page()
        labels.append(_roman_lower(i + 1) if i < 2 else str(10 + i - 2))
        pdf.text(25, 100, f"This is the sentence on PDF page {i + 1}.")
        pdf.text(25, 110, "Suppliers report their emissions and their audit results every year.")
    _out(pdf, path)
    return labels


FOLIO_HEADER = "Acme Components Sustainability Report 2024"
_FOLIO_TOPICS = [
    ("Governance", "board oversight", "the audit committee"),
    ("Climate", "emissions from purchased parts", "the procurement council"),
    ("Steel", "low-emission steel purchases", "the metals sourcing team"),
    ("Aluminium", "certified aluminium smelters", "the light-metals buying desk"),
    ("Batteries", "cell supplier traceability", "the battery programme office"),
    ("Human rights", "salient risks in mining regions", "the due diligence unit"),
    ("Workers", "freedom of association at suppliers", "the social audit team"),
    ("Grievances", "cases raised through the hotline", "the ombudsperson's office"),
]


def _folio_body(i: int) -> list[str]:
    # No word longer than six letters occurs twice on a page, so word-box tests can match
    # words against another extractor unambiguously.
    topic, subject, owner = _FOLIO_TOPICS[i % len(_FOLIO_TOPICS)]
    tag = "" if i < len(_FOLIO_TOPICS) else f" (continued, part {i // len(_FOLIO_TOPICS) + 1})"
    return [
        f"{topic}{tag}",
        f"This chapter describes how Acme Components manages {subject}. Responsibility "
        f"lies with {owner}, which reports to the executive board twice a year.",
        "During the year the team reviewed its approach and agreed on measures for the "
        "coming period, which are explained in the following paragraphs.",
        "Progress is tracked with a small set of indicators. Where results fall short, "
        "corrective actions are agreed with the companies concerned and followed up.",
    ]


def folio_pdf(path: str | Path, n_pages: int = 8, first_folio: int = 21) -> list[str]:
    """No /PageLabels; repeated header, unique body, printed folio in the footer of each page."""
    pdf = _FixedFPDF()
    labels: list[str] = []
    for i in range(n_pages):
        pdf.add_page()
        pdf.set_font("Helvetica", size=8)
        pdf.set_xy(20, 10)
        pdf.cell(170, 5, FOLIO_HEADER, align="L")
        title, *paras = _folio_body(i)
        pdf.set_xy(20, 30)
        pdf.set_font("Helvetica", style="B", size=14)
        pdf.cell(170, 8, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=11)
        for para in paras:
            pdf.set_x(20)
            pdf.multi_cell(170, 6, para, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
        folio = str(first_folio + i)
        labels.append(folio)
        pdf.set_font("Helvetica", size=9)
        pdf.set_xy(20, 280)
        pdf.cell(170, 5, folio, align="C")
    _out(pdf, path)
    return labels


HARD_HYPHEN_LINES = [
    ("The company accepts full responsi-", "bility for the conduct of its suppliers"),
    ("and reports on the environ-", "mental impact of every purchased part."),
    ("Buyers check the trace-", "ability of cobalt before each order."),
]
SOFT_HYPHEN_LINES = [
    ("Suppliers must document the sustain\u00ad", "ability of their own sub-suppliers"),
    ("and report their decarbon\u00ad", "isation plans every year."),
]
MIDLINE_HYPHEN_WORDS = ["tier-1", "co-operation"]


def hyphenated_pdf(path: str | Path) -> dict:
    """Page 1 splits words with "-" at line ends, page 2 with U+00AD; returns the joined words."""
    pdf = _FixedFPDF()
    pdf.add_page()
    y = 30.0
    for first, second in HARD_HYPHEN_LINES:
        pdf.text(20, y, first)
        pdf.text(20, y + 6, second)
        y += 16
    pdf.text(20, y, "Every tier-1 supplier joins the co-operation programme.")
    pdf.add_page()
    y = 30.0
    for first, second in SOFT_HYPHEN_LINES:
        pdf.text(20, y, first)
        pdf.text(20, y + 6, second)
        y += 16
    _out(pdf, path)
    return {
        "hard": ["responsibility", "environmental", "traceability"],
        "soft": ["sustainability", "decarbonisation"],
        "kept": list(MIDLINE_HYPHEN_WORDS),
    }


def _png_bytes() -> bytes:
    img = Image.new("RGB", (400, 300), (235, 240, 245))
    draw = ImageDraw.Draw(img)
    draw.rectangle((40, 40, 360, 260), outline=(20, 60, 120), width=6)
    draw.ellipse((120, 80, 280, 220), fill=(30, 120, 90))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def image_only_pdf(path: str | Path) -> None:
    """Three pages: text, an image with no text layer, text."""
    pdf = _FixedFPDF()
    pdf.add_page()
    pdf.text(20, 30, "Page one has a text layer about supplier audits and their findings.")
    pdf.add_page()
    pdf.image(io.BytesIO(_png_bytes()), x=20, y=30, w=170)
    pdf.add_page()
    pdf.text(20, 30, "Page three has a text layer about battery minerals and cobalt refiners.")
    _out(pdf, path)


TABLE_ROWS = [
    ["Material", "Volume (t)", "Emissions (t CO2e)", "Share certified"],
    ["Flat steel", "412000", "843000", "12%"],
    ["Aluminium", "96000", "758000", "64%"],
    ["Battery cells", "31000", "1920000", "40%"],
    ["Copper", "18000", "71000", "5%"],
]


def table_pdf(path: str | Path) -> list[list[str]]:
    """One page with a heading line and a table; returns the header row plus 4 data rows."""
    pdf = _FixedFPDF()
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=13)
    pdf.cell(0, 10, "Purchased materials in 2024", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font("Helvetica", size=10)
    with pdf.table(text_align="LEFT", col_widths=(35, 20, 25, 20)) as table:
        for row in TABLE_ROWS:
            r = table.row()
            for cell in row:
                r.cell(cell)
    _out(pdf, path)
    return [list(r) for r in TABLE_ROWS]


def encrypted_pdf(path: str | Path) -> str:
    """A one-page PDF that needs a user password to open; returns that password."""
    pdf = _FixedFPDF()
    pdf.set_encryption(
        owner_password=ENCRYPTED_OWNER_PASSWORD, user_password=ENCRYPTED_USER_PASSWORD
    )
    pdf.add_page()
    pdf.text(20, 30, "Confidential supplier list.")
    _out(pdf, path)
    return ENCRYPTED_USER_PASSWORD


def empty_pdf(path: str | Path) -> None:
    """A zero-byte file named .pdf."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"")


def truncated_pdf(path: str | Path) -> None:
    """A valid three-page PDF cut to the first 40% of its bytes."""
    pdf = _FixedFPDF()
    for i in range(3):
        pdf.add_page()
        pdf.text(20, 30, f"Truncated document, page {i + 1}.")
    data = bytes(pdf.output())
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data[: int(len(data) * 0.4)])


def not_a_pdf(path: str | Path) -> None:
    """A plain text file with a .pdf extension."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("This is not a PDF file, just plain text.\n", encoding="utf-8")


LIST_SENTENCE = (
    "These include the battery raw materials cobalt, lithium, nickel and graphite, the "
    "conflict minerals tin, tungsten, tantalum and gold (3TG), and aluminium, copper, "
    "leather, mica, steel, natural rubber, platinum group metals and rare earths."
)
LIST_INTRO = "Our supplier requirements include the following commitments:"
LIST_ITEMS = [
    "- every direct supplier signs the code of conduct before the first order, e.g. for cells;",
    "- smelters of cobalt and lithium are audited against the OECD guidance each year;",
    "- steel suppliers disclose the emissions of each coil, from the mill to our press;",
    "- grievances from workers at any tier reach the hotline without fear of reprisal.",
]


def list_pdf(path: str | Path) -> dict:
    """Two pages of prose in which a long sentence lists minerals and a bulleted list follows
    its introduction: the content a splitter must not cut in the middle of."""
    filler = (
        "The sourcing team met the business units during the year and agreed on the "
        "priorities for the coming period. Each unit reports on progress twice a year."
    )
    pdf = _FixedFPDF()
    for page in range(2):
        pdf.add_page()
        pdf.set_xy(20, 25)
        for k in range(3):
            pdf.set_x(20)
            pdf.multi_cell(170, 6, f"{filler} Section {page + 1}.{k + 1} closes here.")
            pdf.ln(3)
        pdf.set_x(20)
        pdf.multi_cell(170, 6, f"{filler} {LIST_SENTENCE} {filler}")
        pdf.ln(3)
        pdf.set_x(20)
        pdf.multi_cell(170, 6, LIST_INTRO)
        for item in LIST_ITEMS:
            pdf.set_x(25)
            pdf.multi_cell(165, 6, item)
        pdf.ln(3)
        for k in range(2):
            pdf.set_x(20)
            pdf.multi_cell(170, 6, f"{filler} Closing note {page + 1}.{k + 1} ends the page.")
            pdf.ln(3)
    _out(pdf, path)
    return {"sentence": LIST_SENTENCE, "intro": LIST_INTRO, "items": list(LIST_ITEMS)}
