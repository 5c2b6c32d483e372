"""The `talkme-consultant` command line: serve, worker, db, chat, kb, simulate, eval.

Each group of commands lives in its own module; this one puts them under one command.
"""

from __future__ import annotations

import logging
import os

import typer

from talkme_consultant.cli.evaluate import eval_app
from talkme_consultant.cli.kb import kb_app
from talkme_consultant.cli.serve import chat, db_app, serve, worker
from talkme_consultant.cli.simulate import simulate

app = typer.Typer(
    help="AI consultant for the TalkMe online chat.", no_args_is_help=True, add_completion=False
)
app.command()(serve)
app.command()(worker)
app.command()(chat)
app.command()(simulate)
app.add_typer(kb_app, name="kb")
app.add_typer(eval_app, name="eval")
app.add_typer(db_app, name="db")


def main() -> None:
    """Console-script entry point."""
    # Dense search is one matrix-vector product per query; multi-threaded BLAS on a small shared
    # machine only adds contention to the latency tail. Must be set before numpy loads.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    logging.captureWarnings(True)
    app()
