"""Limits for reading untrusted PDFs, and a structural check of the raw file.

Reports come from companies' websites, so a file can be hostile (a decompression bomb, a
page tree that repeats one page 200,000 times) or damaged (flipped bytes). PDFium repairs
damage silently and expands compressed streams without bound, so before PDFium sees a
file its bytes are checked here: the cross-reference table must point at the objects it
names, each stream must end where its length says, every Flate stream must inflate
cleanly, and all of them together must stay under a decompressed-size cap.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass

MB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """What one report may cost to read; a file past any limit fails with a clear message."""

    memory_mb: int = 2048  # address space of the process that parses the file
    pages: int = 3000
    decompressed_mb: int = 1024  # all compressed non-image streams together
    seconds: float = 600.0  # wall time for parsing one file
    ocr: bool = True  # read pages without a text layer with Tesseract (reading/ocr.py)


class LimitError(Exception):
    """The file exceeds a reading limit; the message says which and by how much."""


_XREF_ENTRY = re.compile(rb"(\d{10}) (\d{5}) ([nf])")
_SUBSECTION = re.compile(rb"\s*(\d+)\s+(\d+)\s*[\r\n]+")
_OBJ_AT = re.compile(rb"\s*(\d+)\s+(\d+)\s+obj\b")
_STREAM = re.compile(rb"(?<!end)stream(?:\r\n|\n|\r)")
_LENGTH = re.compile(rb"/Length\s+(\d+)(\s+\d+\s+R)?")
_FLATE_FIRST = re.compile(rb"/Filter\s*(\[\s*)?/FlateDecode\b")  # the outermost filter is Flate
_CHUNK = 1 << 20


def inspect_pdf(data: bytes, limits: Limits) -> list[str]:
    """Reasons the file needed repair (empty when it is sound); raises LimitError for bombs."""
    problems = _check_xref(data)
    if b"/Encrypt" in data:
        return problems  # encrypted streams do not inflate without the key
    bad_length, corrupt, total = 0, 0, 0
    cap = limits.decompressed_mb * MB
    for match in _STREAM.finditer(data):
        head = data[max(0, match.start() - 4096) : match.start()]
        head = head[head.rfind(b"obj") + 3 :] if b"obj" in head else head
        start = match.end()
        end = _stream_end(data, start, head)
        if end is None:
            bad_length += 1
            end = data.find(b"endstream", start)
            if end < 0:
                corrupt += 1
                continue
        if b"/Image" in head or not _FLATE_FIRST.search(head):
            continue  # images are not inflated to read text; other filters are not checked
        try:
            size = _inflated_size(data, start, end, cap - total)
        except zlib.error:
            corrupt += 1
            continue
        if size is None:
            raise LimitError(
                f"its compressed streams expand to more than {limits.decompressed_mb} MB "
                "(a decompression bomb?)"
            )
        if size < 0:
            corrupt += 1
            continue
        total += size
    if bad_length:
        problems.append(f"{bad_length} stream(s) not as long as their header says")
    if corrupt:
        problems.append(f"{corrupt} compressed stream(s) corrupt")
    return problems


def _stream_end(data: bytes, start: int, head: bytes) -> int | None:
    """Where a stream's data ends, if its direct /Length is right (None when it is not)."""
    length = _LENGTH.search(head)
    if length is None or length.group(2):  # an indirect length: trust the endstream keyword
        end = data.find(b"endstream", start)
        return end if end >= 0 else None
    end = start + int(length.group(1))
    if data[end : end + 12].lstrip(b"\r\n \t").startswith(b"endstream"):
        return end
    return None


def _inflated_size(data: bytes, start: int, end: int, room: int) -> int | None:
    """Bytes a Flate stream inflates to: None past `room`, -1 when it stops short."""
    inflater = zlib.decompressobj()
    size = 0
    for offset in range(start, end, _CHUNK):
        pending = data[offset : min(end, offset + _CHUNK)]
        while pending and not inflater.eof:
            size += len(inflater.decompress(pending, _CHUNK))
            if size > room:
                return None
            pending = inflater.unconsumed_tail
        if inflater.eof:
            break
    return size if inflater.eof else -1


def _check_xref(data: bytes) -> list[str]:
    """The last cross-reference section must sit where startxref says and name true offsets."""
    at = data.rfind(b"startxref")
    found = re.match(rb"startxref\s+(\d+)", data[at : at + 40]) if at >= 0 else None
    if found is None:
        return ["no startxref: the cross-reference table had to be rebuilt"]
    offset = int(found.group(1))
    if offset >= len(data):
        return ["startxref points past the end: the cross-reference table had to be rebuilt"]
    tail = data[offset:]
    if _OBJ_AT.match(tail[:40]):
        return []  # a cross-reference stream: its entries are compressed, not checked here
    if tail.lstrip()[:4] != b"xref":
        return ["startxref points at no table: the cross-reference table had to be rebuilt"]
    pos = offset + tail.index(b"xref") + 4
    wrong = 0
    while sub := _SUBSECTION.match(data, pos):
        first, count = int(sub.group(1)), int(sub.group(2))
        pos = sub.end()
        for number in range(first, first + count):
            entry = _XREF_ENTRY.match(data, pos)
            if entry is None:
                return ["a malformed cross-reference entry: the table had to be rebuilt"]
            pos = entry.end()
            while pos < len(data) and data[pos] in b"\r\n ":
                pos += 1
            if entry.group(3) == b"n":
                obj = _OBJ_AT.match(data, int(entry.group(1)))
                if obj is None or int(obj.group(1)) != number:
                    wrong += 1
    if wrong:
        return [f"{wrong} object(s) not where the cross-reference table says"]
    return []
