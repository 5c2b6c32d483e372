"""Measure how much an FAQ question's own cosine should count (`TITLE_WEIGHT` in the index).

Prints R@1 and R@4 per base for each weight tried; asserts nothing. The bases are those the
confidence model is fitted on (`bench/fit_confidence.py`), plus, when given, the real users'
set that `bench/real_users_set.py` writes (reported, not used to choose):

    PYTHONPATH=src .venv/bin/python bench/title_weight.py --weights 0,0.3,0.6,0.8,1.0 \\
        --real-users /tmp/rutube

The fitted bases' totals sit within a few questions of each other from 0.3 to 1.5, so the
weight kept (0.8) was chosen among them by the answer sets end to end (`eval answers`, the
shop's above all). After changing it, refit the confidence model (`bench/fit_confidence.py`).
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

# The script's own folder is first on the path when it is run as a file.
import fit_confidence
from talkme_consultant.knowledge import index as index_module
from talkme_consultant.knowledge.cache import MemoryEmbeddingCache
from talkme_consultant.knowledge.embedders import LocalE5Embedder
from talkme_consultant.knowledge.loaders import load_file


def real_users_base(folder: Path) -> fit_confidence.Base:
    """The set `bench/real_users_set.py` wrote: its FAQ and its users' questions."""
    questions = fit_confidence._answer_questions(folder / "answers.jsonl")
    return fit_confidence.Base("real users", load_file(folder / "knowledge" / "faq.csv"), questions)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--weights", default="0,0.3,0.6,0.8,1.0", help="weights to try")
    parser.add_argument("--real-users", type=Path, help="folder written by real_users_set.py")
    args = parser.parse_args()
    embedder = LocalE5Embedder()
    cache = MemoryEmbeddingCache()
    bases = fit_confidence.bases()
    reported = [real_users_base(args.real_users)] if args.real_users else []
    fitted_names = {base.name for base in bases}
    for weight in (float(w) for w in args.weights.split(",")):
        index_module.TITLE_WEIGHT = weight
        fitted = 0
        for base in bases + reported:
            index = await index_module.build_index(base.records, embedder, cache)
            questions = [
                q for q in base.questions if q.answerable and any(map(q.answered_by, base.records))
            ]
            first = within_four = 0
            for question in questions:
                ranked = index.rank(question.text, index.embed_query(question.text), 4)
                right = [question.answered_by(index.records[r.index]) for r in ranked]
                first += bool(right and right[0])
                within_four += any(right)
            if base.name in fitted_names:
                fitted += first
            print(
                f"weight {weight}: {base.name:10} R@1 {first / len(questions):.3f} "
                f"R@4 {within_four / len(questions):.3f} of {len(questions)}",
                flush=True,
            )
        print(f"weight {weight}: fitted bases R@1 {fitted} in all", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
