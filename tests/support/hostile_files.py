"""Malicious knowledge files, generated on the spot: each is small on the wire and built to hurt
whatever parses it naively (memory, time, or a crash). Used by the upload and KNOWLEDGE_DIR specs.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib

SHEET = "xl/worksheets/sheet1.xml"
DOCUMENT = "word/document.xml"
MEGABYTE = 1024 * 1024


def workbook() -> bytes:
    """A real, small price list: what a bomb is hidden inside."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Услуга", "Цена"])
    sheet.append(["Стрижка", 1500])
    sheet.append(["Окрашивание", 4000])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def document() -> bytes:
    """A real, small Word document."""
    import docx

    doc = docx.Document()
    doc.add_heading("О салоне", level=1)
    doc.add_paragraph("Мы работаем каждый день с десяти до двадцати одного часа.")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def replace_part(archive: bytes, part: str, content: bytes) -> bytes:
    """The same zip with one member's content replaced."""
    source = zipfile.ZipFile(io.BytesIO(archive))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = content if item.filename == part else source.read(item)
            target.writestr(item.filename, data)
    return out.getvalue()


def part(archive: bytes, name: str) -> bytes:
    """One member of a zip."""
    return zipfile.ZipFile(io.BytesIO(archive)).read(name)


def merged_range_workbook(ref: str = "A3:XFD1048576") -> bytes:
    """A few-kilobyte workbook whose one merged range spans ~17 billion cells.

    openpyxl creates an object per merged cell on load, so a naive reader needs terabytes.
    The range is written into the sheet XML directly: building it with openpyxl would do exactly
    that allocation here, in the test.
    """
    base = workbook()
    sheet = part(base, SHEET).decode()
    merged = f'<mergeCells count="1"><mergeCell ref="{ref}"/></mergeCells>'
    sheet = sheet.replace("</sheetData>", "</sheetData>" + merged, 1)
    return replace_part(base, SHEET, sheet.encode())


def merged_range_xls() -> bytes:
    """A few-kilobyte legacy .xls price list whose one merged range spans the whole sheet below
    its two rows (rows 3-65536, columns A-IV).

    xlwt writes a blank cell for every merged one (35 MB and about 20 s here), so a small merge
    is written and its MERGEDCELLS record (BIFF8, id 0xE5) widened in place, as an attacker
    would write it.
    """
    import xlwt

    book = xlwt.Workbook()
    sheet = book.add_sheet("Прайс")
    sheet.write(0, 0, "Услуга")
    sheet.write(0, 1, "Цена")
    sheet.write(1, 0, "Стрижка")
    sheet.write(1, 1, 1500)
    sheet.merge(2, 3, 0, 1)
    out = io.BytesIO()
    book.save(out)
    small = struct.pack("<7H", 0xE5, 10, 1, 2, 3, 0, 1)
    whole = struct.pack("<7H", 0xE5, 10, 1, 2, 65535, 0, 255)
    data = out.getvalue()
    assert data.count(small) == 1, "xlwt wrote the merge differently"
    return data.replace(small, whole)


def zip_bomb_workbook(unpacked_mb: int = 400) -> bytes:
    """A workbook whose sheet XML unpacks to `unpacked_mb` MB (whitespace inside the sheet), but
    whose zip is well under a megabyte: a real bomb, the bytes really are in there."""
    base = workbook()
    sheet = part(base, SHEET)
    head, tail = sheet.split(b"</sheetData>", 1)
    out = io.BytesIO()
    source = zipfile.ZipFile(io.BytesIO(base))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename != SHEET:
                target.writestr(item.filename, source.read(item))
                continue
            with target.open(SHEET, "w", force_zip64=True) as stream:
                stream.write(head)
                block = b" " * MEGABYTE
                for _ in range(unpacked_mb):
                    stream.write(block)
                stream.write(b"</sheetData>" + tail)
    return out.getvalue()


def billion_laughs(levels: int = 10) -> str:
    """An XML prologue whose last entity expands to 10**levels copies of "lol"."""
    lines = ['<!ENTITY lol0 "lol">']
    for level in range(1, levels):
        refs = f"&lol{level - 1};" * 10
        lines.append(f'<!ENTITY lol{level} "{refs}">')
    return "<!DOCTYPE lolz [\n" + "\n".join(lines) + "\n]>"


def billion_laughs_document() -> bytes:
    """A .docx whose body text is an entity that expands to a billion "lol"s."""
    base = document()
    xml = part(base, DOCUMENT).decode()
    declaration, _, rest = xml.partition("?>")
    rest = re.sub(r"<w:t>[^<]*</w:t>", "<w:t>&lol9;</w:t>", rest, count=1)
    return replace_part(base, DOCUMENT, (declaration + "?>" + billion_laughs() + rest).encode())


def billion_laughs_workbook() -> bytes:
    """An .xlsx whose sheet carries the same entity bomb in an inline string."""
    base = workbook()
    xml = part(base, SHEET).decode()
    declaration, _, rest = xml.partition("?>")
    cell = '<c r="C1" t="inlineStr"><is><t>&lol9;</t></is></c>'
    rest = rest.replace("</row>", cell + "</row>", 1)
    return replace_part(base, SHEET, (declaration + "?>" + billion_laughs() + rest).encode())


def broken_xml_workbook() -> bytes:
    """A valid zip whose sheet XML stops in the middle of a tag."""
    base = workbook()
    sheet = part(base, SHEET)
    return replace_part(base, SHEET, sheet[: len(sheet) // 2])


def broken_xml_document() -> bytes:
    """A valid zip whose document XML stops in the middle of a tag."""
    base = document()
    xml = part(base, DOCUMENT)
    return replace_part(base, DOCUMENT, xml[: len(xml) // 2])


def slow_pdf(operations: int = 400_000) -> bytes:
    """A one-page PDF whose compressed content stream holds `operations` text-showing operators:
    a few hundred kilobytes that keep a text extractor busy for a long time."""
    content = b"BT /F1 12 Tf 72 720 Td\n" + b"(lol) Tj 0 -1 Td\n" * operations + b"ET\n"
    return _pdf(zlib.compress(content, 9), filtered=True)


def pdf_with_pages(pages: int) -> bytes:
    """A valid PDF of `pages` pages, each with one line of text."""
    stream = b"BT /F1 12 Tf 72 720 Td (Page text) Tj ET\n"
    return _pdf(stream, filtered=False, pages=pages)


def _pdf(stream: bytes, *, filtered: bool, pages: int = 1) -> bytes:
    """A minimal, valid PDF (with a correct cross-reference table)."""
    kids = " ".join(f"{5 + n} 0 R" for n in range(pages))
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        (
            f"<< /Length {len(stream)}{' /Filter /FlateDecode' if filtered else ''} >>\nstream\n"
        ).encode()
        + stream
        + b"\nendstream",
    ]
    for _ in range(pages):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents 4 0 R >>"
        )
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()
