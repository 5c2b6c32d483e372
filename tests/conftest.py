"""Shared fixtures: a warm sample store built once per run, the YCLIENTS stand-in, and the
order specs run in."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from talkme_consultant.booking.standin import RunningStandIn, running_standin
from tests.support.template import sample_template, start_builder

TEMPLATE_DIR = "TALKME_TEST_TEMPLATE_DIR"
# Specs that take longest go first, so no worker is left alone with one of them at the end.
LONGEST_FIRST = (
    "tests/e2e/test_scale_out.py",
    "tests/e2e/test_leases.py",
    "tests/e2e/test_sqlite_processes.py",
    "tests/e2e/test_crash_recovery.py",
    "tests/answer_eval/",
)


def pytest_configure(config: pytest.Config) -> None:
    """The run's controller picks the folder its workers share the sample template in."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None and TEMPLATE_DIR not in os.environ:
        folder = tempfile.mkdtemp(prefix="talkme-template-")
        os.environ[TEMPLATE_DIR] = folder
        config.stash[_OWNED] = Path(folder)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Specs without the sample store run first while it is built; the longest of the rest
    lead. The order is the same in every worker, as xdist requires."""

    def needs_template(item: pytest.Item) -> bool:
        return "sample_store_template" in getattr(item, "fixturenames", ())

    def rank(item: pytest.Item) -> tuple[int, int]:
        path = item.nodeid
        longest = next((i for i, p in enumerate(LONGEST_FIRST) if path.startswith(p)), None)
        if not needs_template(item):
            return (0, 0)
        return (1, longest) if longest is not None else (2, 0)

    items.sort(key=rank)
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker in (None, "gw0") and any(needs_template(item) for item in items):
        config.stash[_BUILDER] = start_builder(Path(os.environ[TEMPLATE_DIR]))


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop a builder still running and remove the shared folder the controller made."""
    builder = config.stash.get(_BUILDER, None)
    if builder is not None and builder.poll() is None:
        builder.terminate()
        builder.wait(timeout=30)
    owned = config.stash.get(_OWNED, None)
    if owned is not None:
        shutil.rmtree(owned, ignore_errors=True)


_BUILDER = pytest.StashKey["subprocess.Popen[bytes]"]()
_OWNED = pytest.StashKey[Path]()


@pytest.fixture(scope="session")
def sample_store_template() -> Path:
    """A data dir whose store already holds the sample knowledge base and its embeddings.

    Embedding the sample takes a while on two cores; every test that needs a service copies
    this folder instead of embedding again (the same path a restart takes in production). The
    parallel workers of one run share it (`tests/support/template.py`).
    """
    return sample_template(Path(os.environ[TEMPLATE_DIR]))


@pytest.fixture
def data_dir(sample_store_template: Path, tmp_path: Path) -> Iterator[Path]:
    """A private copy of the warm data dir."""
    target = tmp_path / "data"
    shutil.copytree(sample_store_template, target)
    yield target


@pytest.fixture
async def calendar() -> AsyncIterator[RunningStandIn]:
    """The YCLIENTS stand-in over real HTTP, with its own calendar."""
    async with running_standin() as running:
        yield running
