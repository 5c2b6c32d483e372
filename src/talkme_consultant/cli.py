"""The `talkme-consultant` command line: serve, worker, db, chat, kb, simulate, eval."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from talkme_consultant.config import Settings
from talkme_consultant.logs import setup_logging

if TYPE_CHECKING:
    from talkme_consultant.service.answer_eval import AnswerCase, AnswerReport
    from talkme_consultant.service.teaching import ParsedLine

app = typer.Typer(
    help="AI consultant for the TalkMe online chat.", no_args_is_help=True, add_completion=False
)
kb_app = typer.Typer(help="Manage the knowledge base in DATA_DIR.", no_args_is_help=True)
eval_app = typer.Typer(help="Measure the bot.", no_args_is_help=True)
db_app = typer.Typer(help="Manage the database schema.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")
app.add_typer(eval_app, name="eval")
app.add_typer(db_app, name="db")

NoMigrate = Annotated[
    bool,
    typer.Option(
        "--no-migrate",
        help="Do not upgrade the schema at start (run `talkme-consultant db upgrade` first).",
    ),
]

T = TypeVar("T")


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def _settings(**overrides: Any) -> Settings:
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except Exception as error:  # pydantic's message names the variable and the problem
        typer.echo(f"configuration error: {error}", err=True)
        raise typer.Exit(2) from error


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (PORT).")] = None,
    no_workers: Annotated[
        bool,
        typer.Option(
            "--no-workers",
            help="HTTP only (webhook, admin, console); turns run in `worker` processes.",
        ),
    ] = False,
    no_migrate: NoMigrate = False,
) -> None:
    """Start the service: webhook, monitoring and admin API, and (unless --no-workers) the
    turn workers and the outbox."""
    import uvicorn

    from talkme_consultant.web.app import create_app
    from talkme_consultant.web.webhook_access import WebhookSecretMissing

    settings = _settings(host=host, port=port)
    setup_logging(settings.log_level, settings.secret_values(), settings.log_format)
    _check_profile(settings)
    try:
        app_ = create_app(settings, role="web" if no_workers else "all", migrate=not no_migrate)
    except WebhookSecretMissing as error:
        typer.echo(f"configuration error: {error}", err=True)
        raise typer.Exit(2) from error
    _announce_console(settings)
    uvicorn.run(
        app_,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        # Request lines only when debugging; they pass the same redaction as every other line.
        access_log=settings.log_level.upper() == "DEBUG",
        log_config=None,
    )


def _announce_console(settings: Settings) -> None:
    """Say where the owner's console is and which token signs in (never the token itself)."""
    from talkme_consultant.web.auth import TOKEN_FILE

    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    if settings.admin_token:
        how = "sign in with ADMIN_TOKEN"
    else:
        how = f"sign in with the admin token stored in {settings.data_dir / TOKEN_FILE}"
    logging.getLogger("talkme_consultant.cli").info(
        "owner's console: http://%s:%d/console — %s", host, settings.port, how
    )


@app.command()
def worker(no_migrate: NoMigrate = False) -> None:
    """Run turns and the outbox without HTTP; any number share DATABASE_URL with web processes."""
    settings = _settings()
    setup_logging(settings.log_level, settings.secret_values())
    _check_profile(settings)
    if settings.worker_nice:
        # Acknowledging a webhook takes a millisecond and TalkMe waits for it; an answer takes
        # tens and the visitor would not notice a few more. On shared cores, webhooks go first.
        os.nice(settings.worker_nice)
    _run(_work(settings, migrate=not no_migrate))


async def _work(settings: Settings, *, migrate: bool) -> None:
    import signal

    from talkme_consultant.service.runtime import Runtime

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    runtime = await Runtime.open(settings, migrate=migrate)
    try:
        await runtime.start_background("worker")
        # The line process supervisors and the multi-process specs wait for.
        typer.echo(f"worker ready: {runtime.owner}", err=True)
        await stop.wait()
    finally:
        await runtime.close()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the schema of DATABASE_URL to the newest revision (safe from several hosts at
    once: one upgrades, the others wait and find nothing to do)."""
    from talkme_consultant.helpers.private_files import ensure_private_dir
    from talkme_consultant.store.database import migrate

    settings = _settings()
    setup_logging("WARNING", settings.secret_values())
    if settings.database_url is None:
        ensure_private_dir(settings.data_dir)
    _run(migrate(settings.resolved_database_url))
    typer.echo("the database schema is at the newest revision")


def _check_profile(settings: Settings) -> None:
    """Fail fast, with the file and field named, before anything starts."""
    from talkme_consultant.profile import ProfileError, load_profile

    try:
        load_profile(settings.profile_path)
    except ProfileError as error:
        typer.echo(f"profile error: {error}", err=True)
        raise typer.Exit(2) from error


@app.command()
def chat() -> None:
    """Talk to the bot in the terminal (the same engine, knowledge base and memory; no TalkMe)."""
    settings = _settings()
    setup_logging("WARNING", settings.secret_values())
    _check_profile(settings)
    _run(_chat(settings))


async def _chat(settings: Settings) -> None:
    from talkme_consultant.cli_chat import chat_loop
    from talkme_consultant.service.runtime import Runtime

    console = Console()
    with console.status("Loading the knowledge base…"):
        runtime = await Runtime.open(settings)
    try:
        await chat_loop(runtime, console)
    finally:
        await runtime.close()


@kb_app.command("ingest")
def kb_ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to add.")],
    replace: Annotated[
        bool, typer.Option("--replace", help="Make these files the whole knowledge base.")
    ] = False,
) -> None:
    """Add files to the knowledge base in DATA_DIR and rebuild its index."""
    settings = _settings()
    setup_logging("WARNING", settings.secret_values())
    exit_code = _run(_ingest(settings, paths, replace))
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
            report = await runtime.knowledge.files.add(contents, origin="cli", replace_all=replace)
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

    settings = _settings()
    setup_logging("WARNING", settings.secret_values())
    if not lessons.is_file():
        Console().print(f"[red]{lessons}: no such file[/red]")
        raise typer.Exit(2)
    raise typer.Exit(_run(_teach(settings, read_lessons(lessons.read_bytes()))))


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
    settings = _settings()
    setup_logging("WARNING", settings.secret_values())
    _run(_search(settings, query, k, as_json))


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


@app.command()
def simulate(
    service_url: Annotated[
        str, typer.Option(help="The running service to talk to.")
    ] = "http://127.0.0.1:8000",
    sim_host: Annotated[
        str, typer.Option(help="Where the TalkMe simulator listens.")
    ] = "127.0.0.1",
    sim_port: Annotated[int, typer.Option(help="The simulator's port.")] = 8100,
    line: Annotated[
        list[str] | None, typer.Option("--line", "-l", help="A visitor line (repeatable).")
    ] = None,
    start_service: Annotated[
        bool,
        typer.Option(
            "--start-service",
            help="Also start the service here, pointed at the simulator (one-command demo).",
        ),
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for each reply.")] = 30.0,
) -> None:
    """Play a scripted visitor through a local TalkMe stand-in and print the dialogue."""
    from talkme_consultant.talkme.simulate_cli import DEFAULT_SCRIPT

    settings = _settings()
    setup_logging("WARNING", settings.secret_values())
    lines = list(line) if line else list(DEFAULT_SCRIPT)
    code = _run(_simulate(settings, service_url, sim_host, sim_port, lines, start_service, timeout))
    raise typer.Exit(code)


async def _simulate(
    settings: Settings,
    service_url: str,
    sim_host: str,
    sim_port: int,
    lines: list[str],
    start_service: bool,
    timeout: float,
) -> int:
    from talkme_consultant.helpers.serving import serve_app
    from talkme_consultant.talkme.simulate_cli import demo_service_settings, run_simulation
    from talkme_consultant.web.app import create_app

    console = Console()
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    if not start_service:
        return await run_simulation(
            service_url, sim_host, sim_port, lines, secret, console, reply_timeout=timeout
        )
    if not secret:
        # The demo service talks to TalkMe's stand-in as in production, so it needs a secret;
        # one made up for this run is as good as any.
        import secrets

        secret = secrets.token_urlsafe(16)
    app_ = create_app(demo_service_settings(settings, sim_host, sim_port, secret))
    async with app_.router.lifespan_context(app_), serve_app(app_, "127.0.0.1", 0) as url:
        return await run_simulation(
            url, sim_host, sim_port, lines, secret, console, reply_timeout=timeout
        )


@eval_app.command("retrieval")
def eval_retrieval(
    cases: Annotated[Path, typer.Argument(help='JSONL of {"question", "expected"}.')],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    k: Annotated[int, typer.Option(help="Hits to look at per question.")] = 10,
) -> None:
    """Recall@1, Recall@5 and MRR@10 of the knowledge base on a case file, with the misses."""
    settings = _settings()
    setup_logging("WARNING", settings.secret_values())
    raise typer.Exit(_run(_eval(settings, cases, as_json, k)))


async def _eval(settings: Settings, cases_path: Path, as_json: bool, k: int) -> int:
    from dataclasses import asdict

    from talkme_consultant.knowledge.evaluation import CaseFileError, evaluate, load_cases
    from talkme_consultant.service.runtime import Runtime

    try:
        cases = load_cases(cases_path)
    except (CaseFileError, OSError) as error:
        typer.echo(f"{error}", err=True)
        return 2
    runtime = await Runtime.open(settings)
    try:
        report = await evaluate(runtime.knowledge, cases, k=k)
    finally:
        await runtime.close()
    if as_json:
        print(json.dumps(asdict(report), ensure_ascii=False, indent=2))
        return 0
    console = Console()
    console.print(
        f"[bold]{report.total} questions[/bold]  Recall@1 {report.recall_at_1:.3f}  "
        f"Recall@5 {report.recall_at_5:.3f}  MRR@10 {report.mrr_at_10:.3f}"
    )
    for miss in report.misses:
        rank = f"rank {miss.rank}" if miss.rank else "not in top"
        first = miss.top_texts[0].replace("\n", " ")[:100] if miss.top_texts else "—"
        console.print(
            f"[yellow]miss[/yellow] ({rank}) {miss.question!r} → expected "
            f"{miss.expected!r}; got {first!r}"
        )
    return 0


@eval_app.command("answers")
def eval_answers(
    cases: Annotated[
        Path,
        typer.Argument(
            help='JSONL: {"question" or "turns", "expect_any"/"expect_all" or "expect"}.'
        ),
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    knowledge_dir: Annotated[
        Path | None,
        typer.Option(
            "--knowledge-dir",
            help="Another knowledge folder; it is loaded into a temporary DATA_DIR.",
        ),
    ] = None,
    profile: Annotated[
        Path | None,
        typer.Option("--profile", help="Another business profile (YAML)."),
    ] = None,
    floor: Annotated[
        float | None,
        typer.Option(
            min=0, max=100, help="Exit with code 1 when fewer than this percent are right."
        ),
    ] = None,
) -> None:
    """Ask the bot each case's questions in a fresh dialogue and check its replies."""
    settings = _settings(knowledge_dir=knowledge_dir, profile_path=profile)
    setup_logging("WARNING", settings.secret_values())
    _check_profile(settings)
    raise typer.Exit(
        _run(
            _eval_answers(settings, cases, as_json, floor, isolated=bool(knowledge_dir or profile))
        )
    )


async def _eval_answers(
    settings: Settings, cases_path: Path, as_json: bool, floor: float | None, *, isolated: bool
) -> int:
    import tempfile
    from dataclasses import asdict

    from rich.markup import escape

    from talkme_consultant.service.answer_eval import (
        VERDICTS,
        AnswerCaseFileError,
        load_answer_cases,
    )

    try:
        cases = load_answer_cases(cases_path)
    except (AnswerCaseFileError, OSError) as error:
        typer.echo(f"case file error: {error}", err=True)
        return 2
    if isolated:
        # Another base must not be mixed into (or replace) the owner's store.
        with tempfile.TemporaryDirectory(prefix="talkme-eval-") as folder:
            temporary = settings.model_copy(
                update={"data_dir": Path(folder) / "data", "database_url": None}
            )
            report = await _answer_report(temporary, cases)
    else:
        report = await _answer_report(settings, cases)
    below = floor is not None and report.share("right") * 100 < floor
    if as_json:
        body = {
            "total": report.total,
            "counts": report.counts,
            "percent": {v: round(report.share(v) * 100, 1) for v in VERDICTS},
            "misses": [asdict(miss) for miss in report.misses],
        }
        print(json.dumps(body, ensure_ascii=False, indent=2))
        return 1 if below else 0
    console = Console(highlight=False)
    console.print(f"[bold]{report.summary()}[/bold]")
    for miss in report.misses:
        before = " → ".join(repr(t) for t in miss.turns)
        asked = f"{before} → {miss.question!r}" if before else repr(miss.question)
        got = miss.got.replace("\n", " ")[:160]
        # Visitor text may hold "[...]": escaped so rich does not read it as markup.
        console.print(
            f"[yellow]{miss.verdict}[/yellow] {escape(asked)}\n"
            f"    expected: {escape(miss.expected)}\n"
            f"    got ({miss.kind}): {escape(got)}",
            soft_wrap=True,
        )
    if below:
        console.print(f"[red]right {report.share('right'):.0%} is below the floor {floor:g}%[/red]")
    return 1 if below else 0


async def _answer_report(settings: Settings, cases: list[AnswerCase]) -> AnswerReport:
    from talkme_consultant.service.answer_eval import evaluate_answers
    from talkme_consultant.service.runtime import Runtime

    console = Console(stderr=True)
    with console.status("Loading the knowledge base…"):
        runtime = await Runtime.open(settings)
    try:
        return await evaluate_answers(runtime.engine, cases)
    finally:
        await runtime.close()


def main() -> None:
    """Console-script entry point."""
    # Dense search is one matrix-vector product per query; multi-threaded BLAS on a small shared
    # machine only adds contention to the latency tail. Must be set before numpy loads.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    logging.captureWarnings(True)
    app()
