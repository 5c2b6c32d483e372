"""`kb`: add files to the knowledge base, teach it wordings from a file, search it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from talkme_consultant.cli.common import load_settings, run
from talkme_consultant.config import Settings
from talkme_consultant.helpers.kinds import FileOrigin
from talkme_consultant.logs import setup_logging

if TYPE_CHECKING:
    from talkme_consultant.service.teaching import ParsedLine

kb_app = typer.Typer(help="Manage the knowledge base in DATA_DIR.", no_args_is_help=True)


@kb_app.command("ingest")
def kb_ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to add.")],
    replace: Annotated[
        bool, typer.Option("--replace", help="Make these files the whole knowledge base.")
    ] = False,
) -> None:
    """Add files to the knowledge base in DATA_DIR and rebuild its index."""
    settings = load_settings()
    setup_logging("WARNING", settings.secret_values())
    exit_code = run(_ingest(settings, paths, replace))
    raise typer.Exit(exit_code)


async def _ingest(settings: Settings, paths: list[Path], replace: bool) -> int:
    from talkme_consultant.knowledge.loaders import SUPPORTED_SUFFIXES
    from talkme_consultant.service.case_scoring import CASES_FILENAME
    from talkme_consultant.service.runtime import Runtime

    console = Console(stderr=True)
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                p
                for p in sorted(path.iterdir())
                if p.is_file()
                and (p.suffix.lower() in SUPPORTED_SUFFIXES or p.name == CASES_FILENAME)
            )
        elif path.is_file():
            files.append(path)
        else:
            console.print(f"[red]{path}: no such file or folder[/red]")
            return 2
    unsupported = [p for p in files if p.suffix.lower() not in SUPPORTED_SUFFIXES]
    unsupported = [p for p in unsupported if p.name != CASES_FILENAME]
    if unsupported:
        console.print(f"[red]{unsupported[0]}: unsupported file type[/red]")
        return 2
    runtime = await Runtime.open(settings.model_copy(update={"knowledge_dir": None}))
    try:
        with _progress(console) as progress:
            task = progress.add_task("Reading files", total=len(files))
            contents = []
            for path in files:
                contents.append((path.name, path.read_bytes()))
                progress.advance(task)
            report = await runtime.knowledge.files.add(
                contents, origin=FileOrigin.CLI, replace_all=replace
            )
            embed = progress.add_task("Embedding", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(embed, completed=done, total=total)

            await runtime.knowledge.refresh(progress=advance)
        for name, reason in report.errors.items():
            console.print(f"[red]{name}: {reason}[/red]")
        console.print(
            f"{sum(report.files.values())} records from {len(report.files)} file(s); "
            f"knowledge base v{runtime.knowledge.version} has {runtime.knowledge.record_count}"
        )
        return 1 if report.errors else 0
    finally:
        await runtime.close()


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


@kb_app.command("teach")
def kb_teach(
    lessons: Annotated[
        Path,
        typer.Argument(
            help='JSONL: per line {"question", "record_id"} or {"question", "expected"} '
            "(a text the right record contains)."
        ),
    ],
) -> None:
    """Teach visitors' wordings of questions to the records that answer them."""
    from talkme_consultant.service.teaching import read_lessons

    settings = load_settings()
    setup_logging("WARNING", settings.secret_values())
    if not lessons.is_file():
        Console().print(f"[red]{lessons}: no such file[/red]")
        raise typer.Exit(2)
    raise typer.Exit(run(_teach(settings, read_lessons(lessons.read_bytes()))))


async def _teach(settings: Settings, lines: list[ParsedLine]) -> int:
    from talkme_consultant.service.runtime import Runtime
    from talkme_consultant.service.teaching import teach_lessons

    console = Console()
    runtime = await Runtime.open(settings.model_copy(update={"knowledge_dir": None}))
    try:
        results = await teach_lessons(runtime.lessons, lines)
        await runtime.knowledge.wait_idle()
    finally:
        await runtime.close()
    for result in results:
        style = "green" if result.ok else "red"
        console.print(f"[{style}]line {result.line}: {result.message}[/{style}]", highlight=False)
    failed = sum(1 for r in results if not r.ok)
    console.print(f"{len(results) - failed} taught, {failed} refused")
    return 1 if failed else 0


@kb_app.command("search")
def kb_search(
    query: Annotated[
        str | None, typer.Argument(help="The question; omit to read one per line from stdin.")
    ] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=100, help="How many hits.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array per query.")] = False,
) -> None:
    """Search the knowledge base as the bot does."""
    settings = load_settings()
    setup_logging("WARNING", settings.secret_values())
    run(_search(settings, query, k, as_json))


async def _search(settings: Settings, query: str | None, k: int, as_json: bool) -> None:
    from talkme_consultant.service.runtime import Runtime

    runtime = await Runtime.open(settings)
    console = Console()
    try:
        queries = [query] if query is not None else (line.rstrip("\n") for line in sys.stdin)
        for text in queries:
            if not text.strip():
                if as_json:
                    print("[]", flush=True)
                continue
            hits = await runtime.knowledge.search(text, k=k)
            if as_json:
                print(
                    json.dumps(
                        [
                            {
                                "score": round(hit.score, 6),
                                "confidence": round(hit.confidence, 4),
                                "missing": hit.missing,
                                "text": hit.record.text,
                                "source": {
                                    "file": hit.record.source.file,
                                    "sheet": hit.record.source.sheet,
                                    "row": hit.record.source.row,
                                },
                            }
                            for hit in hits
                        ],
                        ensure_ascii=False,
                    ),
                    flush=True,
                )
                continue
            table = Table(title=text, show_lines=True)
            table.add_column("#")
            table.add_column("conf.")
            table.add_column("source")
            table.add_column("text")
            for rank, hit in enumerate(hits, 1):
                source = hit.record.source
                where = ", ".join(
                    str(part)
                    for part in (source.file, source.sheet, source.row or source.page)
                    if part
                )
                table.add_row(str(rank), f"{hit.confidence:.2f}", where, hit.record.text[:400])
            console.print(table)
    finally:
        await runtime.close()
