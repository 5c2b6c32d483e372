"""The turn's size limits as properties: cut text keeps its end, trimmed history fits its budget."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from talkme_consultant.answer.base import HistoryMessage
from talkme_consultant.dialog.limits import (
    CUT_MARK,
    estimate_tokens,
    keep_end,
    message_tokens,
    trim_history,
)

texts = st.text(alphabet=st.sampled_from("аб вг\nxyz?"), max_size=3000)
messages = st.lists(
    st.builds(HistoryMessage, role=st.sampled_from(["visitor", "bot"]), text=texts), max_size=12
)


@given(texts, st.integers(min_value=2, max_value=4000))
def test_cut_text_fits_keeps_the_end_and_is_marked(text: str, limit: int) -> None:
    cut = keep_end(text, limit)
    assert len(cut) <= limit
    if len(text) <= limit:
        assert cut == text
    else:
        assert cut.startswith(CUT_MARK)
        assert text.endswith(cut[len(CUT_MARK) :])


@given(messages, st.integers(min_value=50, max_value=3000))
def test_trimmed_history_is_the_newest_run_within_the_budget(
    history: list[HistoryMessage], budget: int
) -> None:
    kept = trim_history(history, budget)
    assert sum(message_tokens(m) for m in kept) <= budget
    if not kept:
        return
    # Everything but possibly the oldest kept message is the untouched newest run.
    assert kept[1:] == history[len(history) - len(kept) + 1 :]
    oldest, original = kept[0], history[len(history) - len(kept)]
    assert oldest == original or (
        len(kept) == 1
        and oldest.text.startswith(CUT_MARK)
        and original.text.endswith(oldest.text[len(CUT_MARK) :])
    )


def test_the_estimate_counts_a_token_per_three_characters_rounding_up() -> None:
    assert [estimate_tokens(t) for t in ("", "аб", "абв", "абвг")] == [0, 1, 1, 2]
