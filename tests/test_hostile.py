"""Hostile and damaged files, and batches with odd file names: each fails (or is flagged)
alone, with a clear message, and everything around it goes on.

The bad inputs are generated here: a decompression bomb of compressed whitespace, one page
repeated 200,000 times through a tiny page tree, a 14,400-point page, a generated report
with 200 flipped bytes, a FIFO, and names that are invalid UTF-8, rich markup or escape codes.
"""

from __future__ import annotations

import io
import math
import os
import random
import shutil
import zlib
from pathlib import Path

import pytest

from analyzer.db.connection import open_db
from analyzer.pipeline import Analyzer, Settings
from analyzer.reading.limits import Limits
from tests.conftest import invoke, run_installed
from tests.pdf_factory import folio_pdf

FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def raw_pdf(objects: list[bytes]) -> bytes:
    """A well-formed PDF of the given object bodies (object 1 the catalog), with a true xref."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s >>\nstream\n%s\nendstream" % (len(data), extra, data)


def _one_page(content: bytes, size: int = 612, extra: bytes = b"") -> bytes:
    return raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>" % (size, size),
            _stream(content, extra),
            FONT,
        ]
    )


def whitespace_bomb(path: Path, megabytes: int) -> Path:
    """A one-page PDF whose content stream inflates to `megabytes` MB of spaces."""
    squeeze = zlib.compressobj(9)
    spaces = b" " * (1 << 20)
    body = b"".join(squeeze.compress(spaces) for _ in range(megabytes))
    body += squeeze.compress(b"BT /F1 12 Tf 72 700 Td (bomb) Tj ET") + squeeze.flush()
    path.write_bytes(_one_page(body, extra=b"/Filter /FlateDecode"))
    return path


def repeated_page_pdf(path: Path, fanouts: tuple[int, ...] = (20, 20, 20, 25)) -> Path:
    """One page listed again and again through a tiny page tree: 200,000 pages in 1.3 kB."""
    depth = len(fanouts)
    page = depth + 2
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    for level, fanout in enumerate(fanouts):
        kids = b" ".join(b"%d 0 R" % (3 + level) for _ in range(fanout))
        objects.append(
            b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, math.prod(fanouts[level:]))
        )
    objects.append(
        b"<< /Type /Page /MediaBox [0 0 612 792] /Contents %d 0 R "
        b"/Resources << /Font << /F1 %d 0 R >> >> >>" % (page + 1, page + 2)
    )
    objects += [_stream(b"BT /F1 12 Tf 72 700 Td (the same page again) Tj ET"), FONT]
    path.write_bytes(raw_pdf(objects))
    return path


def huge_page_pdf(path: Path, points: int = 14_400) -> Path:
    """A 677-byte-class PDF with one page of points x points (200 inches square)."""
    path.write_bytes(_one_page(b"BT /F1 12 Tf 72 700 Td (a very large page) Tj ET", points))
    return path


def flipped_copy(source: Path, target: Path, flips: int = 200, seed: int = 7) -> Path:
    """The report with `flips` bytes inverted away from the header and the trailer."""
    data = bytearray(source.read_bytes())
    rng = random.Random(seed)
    for _ in range(flips):
        data[rng.randrange(2000, len(data) - 2000)] ^= 0xFF
    target.write_bytes(bytes(data))
    return target


@pytest.fixture(scope="module")
def good_pdf(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("good") / "good.pdf"
    folio_pdf(path, n_pages=3)
    return path


def runs(db_path: Path) -> list[dict]:
    db = open_db(db_path)
    rows = list(db["runs"].rows)
    db.close()
    return rows


def test_a_decompression_bomb_fails_alone_and_the_batch_goes_on(tmp_path, good_pdf):
    bomb = whitespace_bomb(tmp_path / "bomb.pdf", 64)
    db = tmp_path / "a.db"
    result = invoke("analyze", str(bomb), str(good_pdf), "--max-decompressed-mb", "16", db=db)
    assert result.returncode == 1
    assert "bomb.pdf: refused: its compressed streams expand to more than 16 MB" in result.stderr
    assert "good.pdf: document 1" in result.stdout
    assert "Analysed 1 report(s)" in result.stdout and "1 failed" in result.stdout
    assert "Traceback" not in result.stderr
    assert {r["status"] for r in runs(db)} == {"ok", "failed"}


def test_the_memory_limit_stops_the_parser_not_the_process(tmp_path, good_pdf, embedder):
    """With the size check out of the way, the child's address-space cap stops the bomb."""
    bomb = whitespace_bomb(tmp_path / "bomb.pdf", 320)
    limits = Limits(memory_mb=256, decompressed_mb=1 << 20)
    analyzer = Analyzer(open_db(tmp_path / "m.db"), Settings(limits=limits), embedder=embedder)
    failed = analyzer.analyze(bomb)
    assert failed.error and "memory limit of 256 MB" in failed.error
    assert analyzer.analyze(good_pdf).error is None  # this process lives on


def test_a_page_repeated_200000_times_is_refused_by_the_page_limit(tmp_path, good_pdf):
    tree = repeated_page_pdf(tmp_path / "tree.pdf")
    assert tree.stat().st_size < 2000
    result = invoke("analyze", str(tree), str(good_pdf), "--max-pages", "500", db=tmp_path / "t.db")
    assert result.returncode == 1
    assert "tree.pdf: refused: 200,000 pages, more than the limit of 500" in result.stderr
    assert "good.pdf: document 1" in result.stdout


def test_a_parse_past_its_time_limit_fails_that_file(tmp_path, good_pdf, embedder):
    bomb = whitespace_bomb(tmp_path / "slow.pdf", 600)  # inflating it takes over a second
    limits = Limits(decompressed_mb=1 << 20, seconds=0.3)
    result = Analyzer(
        open_db(tmp_path / "s.db"), Settings(limits=limits), embedder=embedder
    ).analyze(bomb)
    assert result.error and ("0.3 s" in result.error), result.error


def test_page_images_are_capped_in_pixels(tmp_path):
    from PIL import Image

    from analyzer.web.render import MAX_PIXELS, render_png

    big = huge_page_pdf(tmp_path / "big.pdf")
    assert big.stat().st_size < 1000
    image = Image.open(io.BytesIO(render_png(str(big), 1, 3.0)))
    assert image.width * image.height <= MAX_PIXELS
    assert image.width > 1000  # still a usable picture


def test_a_damaged_report_is_flagged_and_said_in_the_summary(tmp_path, sample_pdf):
    broken = flipped_copy(sample_pdf, tmp_path / "broken.pdf")
    db = tmp_path / "d.db"
    result = invoke("analyze", str(broken), db=db)
    assert result.returncode == 0, result.stderr
    assert "broken.pdf: damaged PDF, repaired to read it" in result.stderr
    assert "1 damaged" in result.stdout
    doc = next(iter(open_db(db)["documents"].rows))
    assert "damaged" in doc["flags"]
    clean = invoke("analyze", str(sample_pdf), db=db)  # a sound file is not flagged
    assert "damaged" not in clean.stdout + clean.stderr


def test_a_fifo_is_reported_as_not_a_regular_file(tmp_path, good_pdf):
    fifo = tmp_path / "pipe.pdf"
    os.mkfifo(fifo)
    result = invoke("analyze", str(fifo), str(good_pdf), db=tmp_path / "f.db")
    assert result.returncode == 1
    assert "pipe.pdf: not a regular file (a FIFO, named pipe)" in result.stderr
    assert "good.pdf: document 1" in result.stdout


def test_any_file_name_is_printed_escaped_and_the_batch_goes_on(tmp_path, good_pdf, monkeypatch):
    """In a terminal (FORCE_COLOR makes rich draw its progress bar, as for a user)."""
    folder = tmp_path / "batch"
    (folder / "evil[").mkdir(parents=True)
    names = ["evil[/red]x.pdf", "[bold]x.pdf", "\x1b[31mred.pdf"]
    for name in names:
        shutil.copy(good_pdf, folder / name)
    undecodable = os.fsdecode(bytes(folder) + b"/bad\xff\xfe.pdf")
    shutil.copy(good_pdf, undecodable)
    with open(undecodable, "ab") as fh:  # a different file, so it is parsed, not reused
        fh.write(b"\n% another version\n")
    monkeypatch.setenv("FORCE_COLOR", "1")
    result = run_installed("analyze", str(folder), db=tmp_path / "n.db")
    assert "Traceback" not in result.stderr and "Error" not in result.stderr, result.stderr
    assert result.returncode == 0, result.stderr
    assert "Analysed 4 report(s)" in result.stdout
    assert "[bold]x.pdf: document" in result.stdout
    assert "red]x.pdf: document" in result.stdout
    assert "\\x1b[31mred.pdf: document" in result.stdout  # the escape code is shown, not run
    assert "\x1b[31mred" not in result.stdout + result.stderr
    assert "bad\\xff\\xfe.pdf: document" in result.stdout
    db = open_db(tmp_path / "n.db")
    stored = {r["file_name"] for r in db["documents"].rows}
    assert "bad\\xff\\xfe.pdf" in stored


def test_a_kill_in_the_store_step_leaves_no_running_run(tmp_path, good_pdf, embedder, monkeypatch):
    """The runs row is written in the document's transaction: an interrupt rolls back both."""
    import analyzer.pipeline as pipeline

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "replace_drafts", interrupted)
    db = open_db(tmp_path / "k.db")
    with pytest.raises(KeyboardInterrupt):
        Analyzer(db, embedder=embedder).analyze(good_pdf)
    assert [r["status"] for r in db["runs"].rows] == []
    assert db["documents"].count == 0


def test_a_bomb_upload_fails_with_a_message_and_the_server_goes_on(tmp_path, embedder):
    from analyzer import accounts
    from analyzer.web.app import make_app
    from tests.review_support import PASSWORD
    from tests.test_web_api import login

    db_path = tmp_path / "web.db"
    db = open_db(db_path)
    accounts.add_user(db, "ann", PASSWORD, "analyst")
    db.close()
    app = make_app(db_path, embedder=embedder, upload_limit=8 << 20)
    app.extensions["worker"].limits = Limits(decompressed_mb=16)
    try:
        client = login(app, "ann")
        bomb = whitespace_bomb(tmp_path / "bomb.pdf", 64).read_bytes()
        response = client.post(
            "/upload",
            data={"files": (io.BytesIO(bomb), "bomb.pdf"), "csrf_token": client.token},
            content_type="multipart/form-data",
        )
        assert response.status_code == 302
        import time

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            rows = client.get("/api/uploads").json["uploads"]
            if rows and rows[0]["status"] in ("done", "failed"):
                break
            time.sleep(0.2)
        assert rows[0]["status"] == "failed"
        assert "decompression bomb" in rows[0]["error"]
        assert client.get("/").status_code == 200  # the server answers on
    finally:
        app.extensions["worker"].stop()
        app.extensions["renderer"].close()
