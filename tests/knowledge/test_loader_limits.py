"""The caps every loader honours before a file can cost much: cells, merged area, pages, unzipped
size, compression ratio and XML entities — each refused with a reason that names the limit, and
each leaving an ordinary file of the same kind readable."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from tests.support import hostile_files as hostile

from talkme_consultant.config import SAMPLE_KNOWLEDGE_DIR
from talkme_consultant.knowledge.loaders import LoaderError, ParseLimits, load_file


def write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def refusal(path: Path, limits: ParseLimits | None = None) -> str:
    with pytest.raises(LoaderError) as info:
        load_file(path, limits=limits)
    assert info.value.file == path.name
    return info.value.reason


def test_ordinary_files_of_every_guarded_kind_read_within_the_default_limits(
    tmp_path: Path,
) -> None:
    assert load_file(SAMPLE_KNOWLEDGE_DIR / "prices.xlsx")
    assert load_file(write(tmp_path, "doc.docx", hostile.document()))
    assert load_file(write(tmp_path, "pages.pdf", hostile.pdf_with_pages(3)))


def test_a_merged_range_over_the_whole_sheet_is_refused_before_openpyxl_loads_it(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "merged.xlsx", hostile.merged_range_workbook())
    assert path.stat().st_size < 10_000
    assert "17,179,836,416" in refusal(path)


def test_a_whole_column_merge_counts_every_row_of_the_sheet(tmp_path: Path) -> None:
    path = write(tmp_path, "columns.xlsx", hostile.merged_range_workbook("A:B"))
    assert "2,097,152" in refusal(path)


def test_a_workbook_with_more_cells_than_the_cap_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "cells.xlsx", hostile.workbook())
    reason = refusal(path, ParseLimits(max_cells=4))
    assert "more than 4 cells" in reason


def test_a_legacy_xls_with_a_sheet_wide_merge_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "merged.xls", hostile.merged_range_xls())
    assert path.stat().st_size < 10_000
    assert "merged cell ranges cover" in refusal(path)


def test_a_docx_with_more_table_cells_than_the_cap_is_refused(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("Прайс-лист")
    table = document.add_table(rows=5, cols=4)
    for row in table.rows:
        for cell in row.cells:
            cell.text = "1500"
    out = io.BytesIO()
    document.save(out)
    path = write(tmp_path, "table.docx", out.getvalue())
    assert "more than 10 table cells" in refusal(path, ParseLimits(max_cells=10))
    assert load_file(path), "within the default cap the same document reads"


def test_a_pdf_with_more_pages_than_the_cap_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "long.pdf", hostile.pdf_with_pages(4))
    assert "4 pages, more than the 3-page limit" in refusal(path, ParseLimits(max_pdf_pages=3))


def test_an_archive_declaring_more_than_the_unzipped_cap_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "bomb.xlsx", hostile.zip_bomb_workbook(10))
    reason = refusal(path, ParseLimits(max_unzipped_bytes=5 * 1024 * 1024))
    assert "unpacks to 10.0 MB, more than the 5.0 MB limit" in reason


def test_a_part_compressed_beyond_the_ratio_cap_is_refused_as_a_zip_bomb(tmp_path: Path) -> None:
    path = write(tmp_path, "dense.xlsx", hostile.zip_bomb_workbook(10))
    assert "zip bomb" in refusal(path)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("laughs.docx", hostile.billion_laughs_document),
        ("laughs.xlsx", hostile.billion_laughs_workbook),
    ],
)
def test_an_entity_bomb_is_refused_before_any_xml_parser_sees_it(
    tmp_path: Path, name: str, content: object
) -> None:
    assert callable(content)
    path = write(tmp_path, name, content())
    assert "XML entities" in refusal(path)
