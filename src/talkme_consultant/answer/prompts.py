"""Prompt templates as files the owner can edit.

Templates are Jinja2 files in `Settings.prompts_dir`; any template missing there is taken from the
package's own `answer/prompts`, so an owner can override just the system prompt. Rendering is
strict (an unknown variable is an error, not an empty string) so a typo in an edited template
shows up at the first turn instead of silently dropping the records from the prompt.

Untrusted text (visitor messages, records, the summary) is passed through the `data` filter
before it goes between the `<...>` delimiters of a template: the filter replaces angle brackets,
so nothing a visitor or a document says can close a delimiter and pose as an instruction.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from talkme_consultant.config import DEFAULT_PROMPTS_DIR

SYSTEM = "system.j2"  # the consultant's role, the profile, the rules
REPLY_INPUT = "reply_input.j2"  # the data of one turn: records, dialogue, visitor message
QUERIES = "queries.j2"  # instructions for turning the message into search queries
QUERIES_INPUT = "queries_input.j2"
SUMMARY = "summary.j2"  # instructions for the rolling dialogue summary
SUMMARY_INPUT = "summary_input.j2"
JSON_FALLBACK = "json_fallback.j2"  # "answer only with JSON of this shape" (no schema mode)
JSON_REPAIR = "json_repair.j2"  # the one repair request after malformed output


def data(value: object) -> str:
    """Make untrusted text safe to put between delimiters: it can no longer open or close one."""
    text = "" if value is None else str(value)
    return text.replace("<", "‹").replace(">", "›")


class PromptLoader:
    """Loads and renders the prompt templates."""

    def __init__(self, prompts_dir: Path | str | None = None) -> None:
        """Use templates from `prompts_dir`, falling back to the packaged defaults."""
        search = [str(DEFAULT_PROMPTS_DIR)]
        if prompts_dir is not None and Path(prompts_dir).resolve() != DEFAULT_PROMPTS_DIR:
            search.insert(0, str(prompts_dir))
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(search, encoding="utf-8"),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # prompts are plain text; `data` does the escaping that matters
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self._env.filters["data"] = data

    def render(self, name: str, /, **context: object) -> str:
        """Render one template; raises `jinja2.TemplateError` when it is missing or broken."""
        return self._env.get_template(name).render(**context).strip()
