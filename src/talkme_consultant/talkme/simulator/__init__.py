"""A local stand-in for TalkMe's API, for tests, demos and ``talkme-consultant simulate``.

It serves ``POST /customBot/send``, ``/customBot/simulateTyping`` and ``/customBot/finish`` and
the account API's ``chat/*`` methods, both at the root and under ``/json/v1.0``, so either
``http://HOST:PORT`` or ``http://HOST:PORT/json/v1.0`` works as ``TALKME_API_URL``. Tests steer
it in process (:class:`SimulatorState`) or from another process (``/_sim/*``,
:class:`RemoteSimulator`).

One job a module:

* ``records.py`` — what it writes down: :class:`SimCall`, :class:`TranscriptEntry`, the method
  names and the error codes it answers with;
* ``faults.py`` — the faults tests inject (``fail_next``) and the queue they wait in;
* ``waiting.py`` — event-driven waiting across threads, holding a call unanswered;
* ``state.py`` — :class:`SimulatorState`: calls, transcripts, faults, waits, the knobs;
* ``api.py`` — the fake ``customBot/*`` routes, their body checks, how faults are played;
* ``hangup.py`` — closing a connection without an answer (the ``"drop"`` fault);
* ``account.py`` — the account API (operators, client cards, history) and its knobs;
* ``control.py`` — the ``/_sim/*`` routes for a test in another process;
* ``client.py`` — :class:`RemoteSimulator`, their client;
* ``running.py`` — :func:`create_simulator_app` and :func:`running_simulator`.

No production module imports this package: an import-linter contract in ``pyproject.toml`` says
so. The ``simulate`` command reaches it on purpose, through ``talkme/simulate_cli.py`` alone.
"""

from talkme_consultant.talkme.simulator.account import DEFAULT_ACCOUNT_KEY, AccountSimulator
from talkme_consultant.talkme.simulator.client import RemoteSimulator
from talkme_consultant.talkme.simulator.faults import FAULT_MODES, FaultMode
from talkme_consultant.talkme.simulator.records import (
    API_PREFIX,
    ERROR_BAD_BODY,
    ERROR_NO_TOKEN,
    ERROR_SIMULATED,
    ERROR_UNKNOWN_TOKEN,
    METHODS,
    SimCall,
    TranscriptEntry,
    canonical_method,
)
from talkme_consultant.talkme.simulator.running import (
    RunningSimulator,
    create_simulator_app,
    running_simulator,
)
from talkme_consultant.talkme.simulator.state import SimulatorState
from talkme_consultant.talkme.simulator.waiting import SimulatorTimeout

__all__ = [
    "API_PREFIX",
    "DEFAULT_ACCOUNT_KEY",
    "ERROR_BAD_BODY",
    "ERROR_NO_TOKEN",
    "ERROR_SIMULATED",
    "ERROR_UNKNOWN_TOKEN",
    "FAULT_MODES",
    "METHODS",
    "AccountSimulator",
    "FaultMode",
    "RemoteSimulator",
    "RunningSimulator",
    "SimCall",
    "SimulatorState",
    "SimulatorTimeout",
    "TranscriptEntry",
    "canonical_method",
    "create_simulator_app",
    "running_simulator",
]
