"""Near-duplicate questions are grouped: by meaning with vectors, by shared stems without."""

from __future__ import annotations

import numpy as np

from talkme_consultant.knowledge.grouping import group_by_vectors, group_by_words


def unit(*rows: list[float]) -> np.ndarray:
    matrix = np.asarray(rows, dtype=np.float32)
    normalised: np.ndarray = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    return normalised


def test_close_vectors_share_the_first_ones_group() -> None:
    vectors = unit([1, 0, 0], [0.99, 0.05, 0], [0, 1, 0], [0.98, 0, 0.1], [0, 0.97, 0.1])
    assert group_by_vectors(vectors, threshold=0.95) == [0, 0, 2, 0, 2]


def test_later_questions_never_move_earlier_ones() -> None:
    rng = np.random.default_rng(1)
    base = rng.standard_normal((40, 16)).astype(np.float32)
    noisy = np.concatenate([base, base + 0.05 * rng.standard_normal((40, 16))]).astype(np.float32)
    vectors = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
    whole = group_by_vectors(vectors)
    assert group_by_vectors(vectors[:50]) == whole[:50]
    assert len(set(whole)) == 40, "each question and its noisy copy are one group"


def test_grouping_crosses_blocks_of_rows() -> None:
    rows = np.tile(unit([1, 0, 0]), (1500, 1))
    assert set(group_by_vectors(rows)) == {0}
    assert group_by_vectors(np.zeros((0, 3), dtype=np.float32)) == []


def test_without_an_embedder_shared_stems_group_questions() -> None:
    texts = [
        "Можно ли прийти с собакой?",
        "Здравствуйте! а с собакой прийти можно?",
        "Сколько стоит стрижка?",
        "стрижка сколько стоит",
        "???",
    ]
    cache: dict[str, frozenset[str]] = {}
    assert group_by_words(texts, stems_cache=cache) == [0, 0, 2, 2, 4]
    assert set(cache) == set(texts), "each text is stemmed once and remembered"


def test_new_questions_join_the_closest_known_leader_or_lead_a_group() -> None:
    known = unit([1, 0, 0], [0.9, 0.2, 0], [0, 1, 0])
    new = unit([0.93, 0.15, 0], [0.7, 0, 0.72], [0.1, 0.99, 0], [0, 0, 1], [0, 0.05, 0.99])
    # Indices count the known leaders first: 0-2 are theirs, 3-7 the new rows'.
    assert group_by_vectors(new, threshold=0.9, known=known) == [1, 4, 2, 6, 6]
    assert group_by_vectors(new, threshold=0.9, known=known[:0]) == [0, 1, 2, 3, 3]


def test_without_an_embedder_new_questions_join_known_leaders_by_stems() -> None:
    known = ["Можно ли прийти с собакой?", "Сколько стоит стрижка?"]
    texts = ["а с собакой можно?", "тату делаете?", "Делаете тату?"]
    assert group_by_words(texts, known=known) == [0, 3, 3]


def test_a_long_grouping_pauses_now_and_then_so_other_threads_run() -> None:
    pauses: list[str] = []
    group_by_words([f"вопрос номер {n}" for n in range(200)], pause=lambda: pauses.append("w"))
    group_by_vectors(np.tile(unit([1, 0, 0]), (1500, 1)), pause=lambda: pauses.append("v"))
    assert pauses.count("w") >= 3 and pauses.count("v") == 2
