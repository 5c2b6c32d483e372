"""`eval`: how well the bot finds records (`retrieval`) and answers whole questions
(`answers`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from talkme_consultant.cli.common import check_profile, load_settings, run
from talkme_consultant.config import Settings
from talkme_consultant.logs import setup_logging

if TYPE_CHECKING:
    from talkme_consultant.service.answer_eval import AnswerCase, AnswerReport

eval_app = typer.Typer(help="Measure the bot.", no_args_is_help=True)


@eval_app.command("retrieval")
def eval_retrieval(
    cases: Annotated[Path, typer.Argument(help='JSONL of {"question", "expected"}.')],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    k: Annotated[int, typer.Option(help="Hits to look at per question.")] = 10,
) -> None:
    """Recall@1, Recall@5 and MRR@10 of the knowledge base on a case file, with the misses."""
    settings = load_settings()
    setup_logging("WARNING", settings.secret_values())
    raise typer.Exit(run(_eval(settings, cases, as_json, k)))


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
            help='JSONL: {"question" or "turns", "expect_any"/"expect_all" or "expect"}; '
            'a turn may be {"say", "expect_…"} to judge its own reply.'
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
    settings = load_settings(knowledge_dir=knowledge_dir, profile_path=profile)
    setup_logging("WARNING", settings.secret_values())
    check_profile(settings)
    raise typer.Exit(
        run(_eval_answers(settings, cases, as_json, floor, isolated=bool(knowledge_dir or profile)))
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
    # A question the knowledge cannot answer is passed by an honest reply.
    passed = report.share("right") + report.share("honest")
    below = floor is not None and passed * 100 < floor
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
        console.print(f"[red]passed {passed:.0%} is below the floor {floor:g}%[/red]")
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
