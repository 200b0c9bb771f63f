"""A hand-written PDF whose font maps every letter to the wrong character (mojibake).

Real reports do this when a font's ToUnicode table is broken: the page looks fine, the
extracted text is garbage. fpdf2 cannot produce such a file, so it is written byte by byte.
"""

from __future__ import annotations

from pathlib import Path

LINES = [
    "Our suppliers must respect the rights of workers and communities.",
    "We audited forty smelters in the cobalt supply chain this year.",
    "The grievance mechanism received twelve complaints from workers.",
    "Low emission steel will make up a third of purchases by the end of the decade.",
] * 4


def _cmap() -> bytes:
    pairs = []
    for k, code in enumerate(range(0x41, 0x7B)):
        if chr(code).isalpha():
            pairs.append(f"<{code:02X}> <{0x2500 + k:04X}>")  # letters become box-drawing glyphs
    body = "\n".join(pairs)
    return (
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Garbled def /CMapType 2 def\n"
        "1 begincodespacerange <00> <FF> endcodespacerange\n"
        f"{len(pairs)} beginbfchar\n{body}\nendbfchar\n"
        "endcmap CMapName currentdict /CMap defineresource pop end end\n"
    ).encode("latin-1")


def garbled_pdf(path: str | Path) -> Path:
    """One page of English prose whose text layer extracts as symbols."""
    text = "BT /F1 11 Tf 50 780 Td 16 TL\n"
    text += "".join(f"({line}) Tj T*\n" for line in LINES) + "ET\n"
    content = text.encode("latin-1")
    cmap = _cmap()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 6 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"endstream",
        b"<< /Length %d >>\nstream\n" % len(cmap) + cmap + b"endstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    path = Path(path)
    path.write_bytes(bytes(out))
    return path
