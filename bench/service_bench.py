"""Service benchmark: webhook acknowledgement latency/throughput and webhook-to-reply latency.

    .venv/bin/python bench/service_bench.py                      # 500/s for 10 s, 100 samples
    .venv/bin/python bench/service_bench.py --quick              # a smoke run (~1-2 min)
    .venv/bin/python bench/service_bench.py --data-dir /tmp/tm   # reuse the embedded KB
    .venv/bin/python bench/service_bench.py --profile /tmp/p.txt # + py-spy of the 500/s phase
    .venv/bin/python bench/service_bench.py --profile-replies /tmp/r.txt  # + of one at a time

What runs (loopback only; temporary directories only):

* the TalkMe simulator in its own process (``python bench/service_bench.py --simulator PORT``,
  uvicorn on ``create_simulator_app()``), so answering the service's ``customBot/*`` calls takes
  no CPU from the load generator's event loop;
* the service as a real subprocess: ``talkme-consultant serve --port P`` with ``DATA_DIR`` a
  temporary directory (or ``--data-dir``, kept), ``TALKME_TEST_MODE=false``,
  ``WEBHOOK_SECRET=off``, ``TALKME_API_URL`` pointing at the simulator, ``DEBOUNCE_SECONDS=0``,
  ``ADMIN_TOKEN=bench-admin-token-24-chars-long``,
  ``LOG_LEVEL=WARNING`` and no ``OPENAI_API_KEY`` (offline answerer; the environment is built
  from scratch, the working directory is a temp dir so no ``.env`` is read). A fresh data dir
  costs tens of seconds of knowledge-base embedding; after health turns 200 the service also
  scores its case file in the background, so measuring starts only once its CPU use has
  settled (printed);
* this process as the load generator (uvloop when available).

Phases, in order:

1. warm-up: 40 webhooks over 10 conversations, then wait until everything is processed;
2. webhook → reply, service idle: one message at a time, then 10 conversations at once
   (``--samples`` messages each). The latency runs from the wall-clock time just before the
   client writes the webhook to the simulator's own receipt time (``SimCall.at``) of the
   ``customBot/send`` carrying that conversation's token. The simulator runs out of process
   (so it is not in the load generator's way in the load phases), but nothing is lost by that:
   the waiting happens inside the simulator (``/_sim/calls`` with ``min_count``, event-driven,
   like ``SimulatorState.wait_for_calls``) and the figure comes from its recorded timestamps,
   not from when the poll returns. The ack and the ``simulateTyping`` times are printed too;
3. open loop: ``--rate`` webhooks/s for ``--seconds`` over ``--conversations`` conversations
   (distinct clientIds, a unique ``originalOnlineChatMessage.id`` each), sent by the clock and
   not by the answers, so a slow service cannot slow the offered load down (no coordinated
   omission); how late the generator itself was against its schedule is printed;
4. backlog drain: until ``GET /webhook/talkme/stats`` says ``messages_pending == 0`` (and then
   until the outbox is empty);
5. closed loop: every conversation sends its next message as soon as the previous one is
   acknowledged, for ``--seconds`` (at most 50,000 requests) — the maximum ack throughput —
   then the drain again.

For each load phase: the achieved rate, the ack latency as the client sees it (from writing
the request to reading the whole answer: p50/p90/p99/max), errors (a request gets 30 s), the
service's own ``talkme_webhook_ack_seconds`` histogram from ``GET /metrics`` (handler start to
response built: it excludes HTTP parsing, event-loop queueing and the client) with p50/p99
interpolated in its buckets, the CPU each process used (from /proc), drain time, RSS. At the end
the warnings and errors the service logged are counted.

Client, service and simulator share the machine's cores, so the client's own cost is measured
and printed (CPU µs per webhook). The default client is a minimal HTTP/1.1 keep-alive client on
raw asyncio streams (~0.2-0.3 ms of CPU per webhook here, including the bench's bookkeeping);
``--client httpx`` swaps in ``httpx.AsyncClient``, which costs ~20x more per request and cannot
offer 500/s on a 2-core machine by itself.

Prints figures and asserts nothing; every phase is bounded in time and in requests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import math
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from talkme_consultant.talkme.payloads import WEBHOOK_PATH
from talkme_consultant.talkme.visitor import Visitor, build_webhook_body

ADMIN_TOKEN = "bench-admin-token-24-chars-long"
HEALTH_PATH = WEBHOOK_PATH + "/health"
STATS_PATH = WEBHOOK_PATH + "/stats"
API_PREFIX = "/json/v1.0"
STARTUP_TIMEOUT = 600.0
DRAIN_TIMEOUT = 300.0
QUIET_TIMEOUT = 180.0
REPLY_TIMEOUT = 15.0
REQUEST_TIMEOUT = 30.0
CLOSED_LOOP_MAX_REQUESTS = 50_000
WARMUP_MESSAGES = 40

# Questions the sample knowledge base answers (and a greeting): a realistic mix for the offline
# answerer, none of which asks for an operator.
TEXTS: tuple[str, ...] = (
    "Здравствуйте!",
    "Сколько стоит маникюр?",
    "А где вы находитесь?",
    "До скольки вы работаете в субботу?",
    "Сколько стоит стрижка?",
    "Есть ли у вас парковка?",
    "Какими гель-лаками вы работаете?",
    "Сколько стоит окрашивание волос?",
)


# --- small helpers ---------------------------------------------------------------------------


def quantile(ordered: Sequence[float], q: float) -> float:
    """Linear-interpolated quantile of an already sorted sequence (NaN when empty)."""
    if not ordered:
        return math.nan
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ms(seconds: float) -> str:
    """Seconds as a millisecond figure for the table."""
    return "n/a" if math.isnan(seconds) else f"{seconds * 1000:.1f}"


def free_port() -> int:
    """A port nothing listens on right now (loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CORES = len(os.sched_getaffinity(0))


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads), NaN if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def process_memory(pid: int) -> tuple[float, float]:
    """(RSS, peak RSS) in MiB, NaN if the process is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return math.nan, math.nan
    values = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", text, re.MULTILINE))
    return int(values.get("VmRSS", 0)) / 1024, int(values.get("VmHWM", 0)) / 1024


def print_header(title: str) -> None:
    """A section title."""
    print(f"\n== {title} ==", flush=True)


# --- webhook clients ---------------------------------------------------------------------------


class WebhookClient:
    """POSTs a JSON body to the webhook; returns the HTTP status (raises on transport errors)."""

    async def post(self, body: bytes) -> int:
        """Send one webhook and read the whole answer."""
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release connections."""


class _RawConnection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer


class RawClient(WebhookClient):
    """HTTP/1.1 with keep-alive on raw asyncio streams: one request per connection at a time,
    a LIFO pool of up to ``size`` connections, Content-Length bodies only (what uvicorn sends)."""

    def __init__(self, host: str, port: int, path: str, size: int) -> None:
        self._host = host
        self._port = port
        self._head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Content-Type: application/json\r\nContent-Length: "
        ).encode()
        self._idle: list[_RawConnection] = []
        self._slots = asyncio.Semaphore(size)
        self._all: set[_RawConnection] = set()

    async def post(self, body: bytes) -> int:
        async with self._slots:
            for attempt in (1, 2):
                connection, reused = await self._checkout()
                try:
                    status, keep = await self._exchange(connection, body)
                except (asyncio.IncompleteReadError, ConnectionError) as error:
                    self._drop(connection)
                    partial = isinstance(error, asyncio.IncompleteReadError) and error.partial
                    if reused and attempt == 1 and not partial:
                        # The server closed this idle keep-alive connection as we reused it;
                        # nothing was answered, so send again on a fresh connection.
                        continue
                    raise
                except BaseException:
                    self._drop(connection)
                    raise
                if keep:
                    self._idle.append(connection)
                else:
                    self._drop(connection)
                return status
        raise RuntimeError("unreachable: the second attempt returns or raises")

    async def _checkout(self) -> tuple[_RawConnection, bool]:
        while self._idle:
            connection = self._idle.pop()
            if not connection.reader.at_eof():
                return connection, True
            self._drop(connection)  # closed by the server's keep-alive timeout
        return await self._connect(), False

    async def _connect(self) -> _RawConnection:
        reader, writer = await asyncio.open_connection(self._host, self._port)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection = _RawConnection(reader, writer)
        self._all.add(connection)
        return connection

    async def _exchange(self, connection: _RawConnection, body: bytes) -> tuple[int, bool]:
        connection.writer.write(self._head + str(len(body)).encode() + b"\r\n\r\n" + body)
        head = await connection.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lowered = head.lower()
        match = re.search(rb"\r\ncontent-length:\s*(\d+)", lowered)
        if match is None:
            raise RuntimeError("response without Content-Length")
        await connection.reader.readexactly(int(match.group(1)))
        return status, b"\r\nconnection: close" not in lowered

    def _drop(self, connection: _RawConnection) -> None:
        self._all.discard(connection)
        connection.writer.close()

    async def aclose(self) -> None:
        for connection in list(self._all):
            self._drop(connection)
        self._idle.clear()


class HttpxClient(WebhookClient):
    """``httpx.AsyncClient`` with a connection pool as big as the concurrency."""

    def __init__(self, url: str, size: int) -> None:
        self._url = url
        self._http = httpx.AsyncClient(
            timeout=REQUEST_TIMEOUT,
            limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
        )

    async def post(self, body: bytes) -> int:
        response = await self._http.post(
            self._url, content=body, headers={"Content-Type": "application/json"}
        )
        return response.status_code

    async def aclose(self) -> None:
        await self._http.aclose()


# --- conversations -----------------------------------------------------------------------------


@dataclass
class Conversation:
    """One visitor and the id of its next message."""

    visitor: Visitor
    next_id: int
    sent: int = 0

    @classmethod
    def new(cls) -> Conversation:
        visitor = Visitor.new(site_id="bench-site", site_domain="bench.example")
        return cls(visitor, visitor.first_message_id)

    def next_body(self) -> bytes:
        """The next webhook body of this conversation (a new message id each time)."""
        text = TEXTS[self.sent % len(TEXTS)]
        body = orjson.dumps(build_webhook_body(self.visitor, text, self.next_id))
        self.next_id += 1
        self.sent += 1
        return body


# --- processes ---------------------------------------------------------------------------------


@dataclass
class Processes:
    """The subprocesses this run started (killed in ``finally``)."""

    simulator: subprocess.Popen[bytes] | None = None
    service: subprocess.Popen[bytes] | None = None
    service_log: Path | None = None


def start_simulator(port: int, log_path: Path) -> subprocess.Popen[bytes]:
    """This file in simulator mode, in its own process."""
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--simulator", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def service_env(data_dir: Path, sim_port: int, port: int) -> dict[str, str]:
    """A clean environment: only what the service needs (no OPENAI_* or DATABASE_URL leaks)."""
    # PYTHONPATH too: the service must run the tree under test, not whichever one the
    # virtualenv's editable install points at (several worktrees share one .venv).
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ", "PYTHONPATH")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env.update(
        DATA_DIR=str(data_dir),
        TALKME_TEST_MODE="false",
        # The bench measures the webhook, not its guard; production needs a secret.
        WEBHOOK_SECRET="off",
        TALKME_API_URL=f"http://127.0.0.1:{sim_port}{API_PREFIX}",
        DEBOUNCE_SECONDS="0",
        ADMIN_TOKEN=ADMIN_TOKEN,
        LOG_LEVEL="WARNING",
        PORT=str(port),
    )
    return env


def start_service(
    data_dir: Path, sim_port: int, port: int, log_path: Path, cwd: Path
) -> subprocess.Popen[bytes]:
    """``talkme-consultant serve`` from this interpreter's environment (``.venv/bin``)."""
    executable = Path(sys.executable).parent / "talkme-consultant"
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [str(executable), "serve", "--port", str(port)],
            env=service_env(data_dir, sim_port, port),
            cwd=cwd,  # a temp dir: no stray .env is read
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def stop(process: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM, then SIGKILL after 15 s; only the process we started, by its pid."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


async def wait_until_up(
    http: httpx.AsyncClient, url: str, process: subprocess.Popen[bytes], timeout: float
) -> float:
    """Poll ``url`` until it answers 200; returns the seconds it took."""
    started = time.perf_counter()
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"process exited with code {process.returncode} before {url} was up")
        with contextlib.suppress(httpx.TransportError):
            response = await http.get(url, timeout=5.0)
            if response.status_code == 200:
                return time.perf_counter() - started
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"{url} was not up after {timeout:.0f}s")
        await asyncio.sleep(0.25)


# --- service probes ----------------------------------------------------------------------------


@dataclass
class Service:
    """How to reach the service under test and the simulator."""

    url: str
    sim_url: str
    pid: int
    sim_pid: int
    http: httpx.AsyncClient

    async def stats(self) -> dict[str, Any]:
        response = await self.http.get(
            self.url + STATS_PATH, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    async def ack_histogram(self) -> dict[float, float]:
        """Cumulative ``talkme_webhook_ack_seconds`` buckets: upper bound → count."""
        response = await self.http.get(self.url + "/metrics")
        response.raise_for_status()
        buckets: dict[float, float] = {}
        pattern = r'^talkme_webhook_ack_seconds_bucket\{le="([^"]+)"\}\s+(\S+)'
        for bound, count in re.findall(pattern, response.text, re.MULTILINE):
            buckets[math.inf if bound == "+Inf" else float(bound)] = float(count)
        return buckets

    async def wait_quiet(self, timeout: float, window: float = 1.0) -> float | None:
        """Seconds until the service uses under 5% of a core over two windows in a row (its
        startup scoring of the case file runs in the background after health turns 200)."""
        started = time.perf_counter()
        calm = 0
        while time.perf_counter() - started < timeout:
            before = process_cpu(self.pid)
            await asyncio.sleep(window)
            calm = calm + 1 if process_cpu(self.pid) - before < 0.05 * window else 0
            if calm >= 2:
                return time.perf_counter() - started - 2 * window
        return None

    async def wait_drained(self, timeout: float) -> tuple[float | None, float | None]:
        """Seconds until no message is pending, and until the outbox is empty too (None: not
        within ``timeout``)."""
        started = time.perf_counter()
        messages_done: float | None = None
        while time.perf_counter() - started < timeout:
            stats = await self.stats()
            elapsed = time.perf_counter() - started
            if messages_done is None and stats["messages_pending"] == 0:
                messages_done = elapsed
            if messages_done is not None and stats["pending_calls"] == 0:
                return messages_done, elapsed
            await asyncio.sleep(0.1)
        return messages_done, None


def histogram_quantile(before: dict[float, float], after: dict[float, float], q: float) -> str:
    """Prometheus-style quantile from the bucket deltas between two scrapes, as text."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    total = counts[-1] if counts else 0.0
    if total <= 0:
        return "n/a"
    rank = q * total
    lower, below = 0.0, 0.0
    for bound, cumulative in zip(bounds, counts, strict=True):
        if cumulative >= rank:
            if math.isinf(bound):
                return f">{lower * 1000:g}"
            inside = cumulative - below
            fraction = (rank - below) / inside if inside else 1.0
            return f"{(lower + (bound - lower) * fraction) * 1000:.1f}"
        lower, below = bound, cumulative
    return "n/a"


def histogram_lines(before: dict[float, float], after: dict[float, float]) -> list[str]:
    """The bucket deltas as 'le=…ms: share' lines."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    total = counts[-1] if counts else 0.0
    if total <= 0:
        return ["(no webhooks observed)"]
    parts = []
    for bound, cumulative in zip(bounds, counts, strict=True):
        label = "+Inf" if math.isinf(bound) else f"{bound * 1000:g}ms"
        parts.append(f"≤{label} {cumulative / total * 100:.1f}%")
    return ["  ".join(parts)]


# --- load phases -------------------------------------------------------------------------------


@dataclass
class LoadResult:
    """What the client saw in one load phase."""

    latencies: list[float] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0
    elapsed: float = 0.0
    sending: float = 0.0
    sent: int = 0

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


async def timed_post(
    client: WebhookClient, body: bytes, result: LoadResult, due: float | None = None
) -> None:
    """One webhook: latency on success, the failure's kind otherwise; with ``due`` (a
    ``perf_counter`` time), how late the request started against its schedule too."""
    started = time.perf_counter()
    if due is not None:
        result.lags.append(max(0.0, started - due))
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT):
            status = await client.post(body)
    except TimeoutError:
        result.error("timeout")
        return
    except Exception as error:
        result.error(type(error).__name__)
        return
    if status == 200:
        result.latencies.append(time.perf_counter() - started)
    else:
        result.error(f"http {status}")


async def open_loop(
    client: WebhookClient, conversations: list[Conversation], rate: float, seconds: float
) -> LoadResult:
    """Send ``rate`` webhooks a second for ``seconds`` by the clock, round-robin."""
    result = LoadResult()
    total = max(1, round(rate * seconds))
    bodies = [conversations[i % len(conversations)].next_body() for i in range(total)]
    tasks: list[asyncio.Task[None]] = []
    started = time.perf_counter()
    index = 0
    while index < total:
        now = time.perf_counter()
        # Everything due by now goes out at once, then yield until the next one is due.
        while index < total and started + index / rate <= now:
            due = started + index / rate
            tasks.append(asyncio.create_task(timed_post(client, bodies[index], result, due)))
            index += 1
        if index < total:
            await asyncio.sleep(max(0.0, started + index / rate - time.perf_counter()))
    result.sending = time.perf_counter() - started
    await asyncio.gather(*tasks)
    result.elapsed = time.perf_counter() - started
    result.sent = total
    return result


async def closed_loop(
    client: WebhookClient, conversations: list[Conversation], seconds: float
) -> LoadResult:
    """Each conversation sends its next message as soon as the last one is acknowledged."""
    result = LoadResult()
    budget = itertools.count()
    deadline = time.perf_counter() + seconds

    async def visitor(conversation: Conversation) -> None:
        while time.perf_counter() < deadline and next(budget) < CLOSED_LOOP_MAX_REQUESTS:
            await timed_post(client, conversation.next_body(), result)
            result.sent += 1

    started = time.perf_counter()
    await asyncio.gather(*(visitor(c) for c in conversations))
    result.elapsed = result.sending = time.perf_counter() - started
    return result


@dataclass
class CpuMeter:
    """CPU seconds used by the client, the service and the simulator over one phase."""

    service_pid: int
    sim_pid: int
    start: tuple[float, float, float] = (0.0, 0.0, 0.0)
    used: tuple[float, ...] = ()

    def __enter__(self) -> CpuMeter:
        self.start = self._now()
        return self

    def __exit__(self, *_: object) -> None:
        end = self._now()
        self.used = tuple(b - a for a, b in zip(self.start, end, strict=True))

    def _now(self) -> tuple[float, float, float]:
        return time.process_time(), process_cpu(self.service_pid), process_cpu(self.sim_pid)


def report_load(
    title: str,
    result: LoadResult,
    cpu: CpuMeter,
    hist_before: dict[float, float],
    hist_after: dict[float, float],
    *,
    offered: float | None,
) -> None:
    """Print one load phase's figures."""
    ordered = sorted(result.latencies)
    ok = len(ordered)
    rate = ok / result.elapsed if result.elapsed else math.nan
    if offered is not None:
        print(
            f"  offered          {offered:g} webhooks/s: {result.sent} sent in"
            f" {result.sending:.2f} s ({result.sent / result.sending:.0f}/s)"
        )
    print(
        f"  achieved         {rate:.0f} acknowledged webhooks/s "
        f"({ok} ok of {result.sent}; the last answer came {result.elapsed:.2f} s after the first"
        " request)"
    )
    errors = ", ".join(f"{k}: {v}" for k, v in sorted(result.errors.items())) or "none"
    print(f"  errors           {errors}")
    print(
        f"  client ack ms    p50 {ms(quantile(ordered, 0.50))}  p90 {ms(quantile(ordered, 0.90))}"
        f"  p99 {ms(quantile(ordered, 0.99))}  max {ms(ordered[-1] if ordered else math.nan)}"
    )
    if result.lags:
        lags = sorted(result.lags)
        print(
            f"  schedule lag ms  p99 {ms(quantile(lags, 0.99))}  max {ms(lags[-1])}"
            "  (how late the generator sent vs its clock)"
        )
    print(
        f"  service ack ms   p50 {histogram_quantile(hist_before, hist_after, 0.50)}"
        f"  p99 {histogram_quantile(hist_before, hist_after, 0.99)}"
        "  (talkme_webhook_ack_seconds, interpolated in buckets)"
    )
    for line in histogram_lines(hist_before, hist_after):
        print(f"  service buckets  {line}")
    client_cpu, service_cpu, sim_cpu = cpu.used
    sent = max(1, result.sent)
    print(
        f"  CPU used         client {client_cpu:.2f} s ({client_cpu / sent * 1e6:.0f} µs/webhook)"
        f"  service {service_cpu:.2f} s ({service_cpu / sent * 1e3:.2f} ms/webhook,"
        f" {service_cpu / result.elapsed * 100:.0f}% of one core)"
        f"  simulator {sim_cpu:.2f} s  — of {CORES} cores x {result.elapsed:.1f} s"
    )


async def run_load_phase(
    service: Service,
    client: WebhookClient,
    title: str,
    body: Callable[[], Awaitable[LoadResult]],
    *,
    offered: float | None,
    profile: Path | None = None,
    seconds: float = 0.0,
) -> None:
    """Run a load phase, print its figures, then wait for the backlog to drain."""
    print_header(title)
    before = await service.ack_histogram()
    stats_before = await service.stats()
    profiler = start_profiler(service.pid, profile, seconds) if profile else None
    try:
        with CpuMeter(service.pid, service.sim_pid) as cpu:
            result = await body()
    finally:
        if profiler is not None:
            await asyncio.to_thread(stop_profiler, profiler)
    after = await service.ack_histogram()
    report_load(title, result, cpu, before, after, offered=offered)
    if profiler is not None and profile is not None:
        print_profile(profile)
    drain_started = time.perf_counter()
    with CpuMeter(service.pid, service.sim_pid) as drain_cpu:
        messages_s, outbox_s = await service.wait_drained(DRAIN_TIMEOUT)
    stats = await service.stats()
    processed = stats["messages_processed"] - stats_before["messages_processed"]
    sent_calls = stats["sent_calls"] - stats_before["sent_calls"]
    if messages_s is None:
        print(
            f"  backlog          NOT drained within {DRAIN_TIMEOUT:.0f} s "
            f"({stats['messages_pending']} messages pending)"
        )
    else:
        outbox = f"{outbox_s:.2f} s" if outbox_s is not None else "not empty"
        print(
            f"  backlog drain    {messages_s:.2f} s after the last ack until messages_pending == 0;"
            f" outbox empty after {outbox}"
        )
    print(
        f"  processed        {processed} messages in this phase, {sent_calls} TalkMe calls sent;"
        f" drain CPU: service {drain_cpu.used[1]:.2f} s over"
        f" {time.perf_counter() - drain_started:.2f} s"
    )
    rss, peak = process_memory(service.pid)
    print(f"  service memory   RSS {rss:.0f} MiB (peak {peak:.0f} MiB)")


# --- profiling (optional, --profile) ---------------------------------------------------------


def start_profiler(
    pid: int, output: Path, seconds: float, *, gil: bool = True
) -> subprocess.Popen[bytes] | None:
    """py-spy sampling the service for ``seconds`` without pausing it. With ``gil`` only
    samples where a thread holds the GIL count (the GIL is what the event loop and every thread
    share); without, every thread on a CPU counts, the embedder's native code included. None
    when py-spy is not installed (a dev dependency: ``make install-dev``)."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        print("  profile          py-spy not found; no profile recorded")
        return None
    command = [py_spy, "record", "--pid", str(pid), "--rate", "200", "--nonblocking"]
    command += ["--gil"] if gil else []
    command += ["--threads", "--format", "raw", "--duration", str(max(1, math.ceil(seconds)))]
    return subprocess.Popen(
        [*command, "--output", str(output)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )


def stop_profiler(profiler: subprocess.Popen[bytes]) -> None:
    """Let py-spy write its file (it stops by itself after its duration)."""
    try:
        profiler.wait(timeout=30)
    except subprocess.TimeoutExpired:
        profiler.send_signal(signal.SIGINT)
        try:
            profiler.wait(timeout=10)
        except subprocess.TimeoutExpired:
            profiler.kill()
            profiler.wait(timeout=5)


_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


def _frame_name(frame: str) -> str:
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip()
    file = match.group("file")
    for marker in ("site-packages/", "src/", "lib/python3.11/"):
        if marker in file:
            file = file.split(marker, 1)[1]
    return f"{match.group('func')} ({file})"


def print_profile(path: Path, top: int = 15) -> None:
    """Summarise py-spy's collapsed stacks: samples per thread, hottest leaf functions, and
    the share of the event-loop thread's samples under the main phases of the service."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        print(f"  profile          none written to {path} (is py-spy installed and allowed?)")
        return
    threads: dict[str, int] = {}
    leaves: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = 0
    for line in lines:
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        thread = re.sub(r"\s*\(0x[0-9a-f]+\)|\s*\(\d+\)", "", frames[0]).strip() or "thread"
        is_main = "MainThread" in frames[0] or "process" in frames[0]
        threads[thread] = threads.get(thread, 0) + count
        total += count
        names = [_frame_name(f) for f in frames[1:]]
        if names:
            leaves[names[-1]] = leaves.get(names[-1], 0) + count
        if is_main:
            for name in set(names):
                inclusive[name] = inclusive.get(name, 0) + count
    if not total:
        print(f"  profile          {path}: no samples")
        return
    print(f"  profile          {total} samples at 200 Hz, raw stacks in {path}")
    for thread, count in sorted(threads.items(), key=lambda item: -item[1])[:6]:
        print(f"    thread {thread:<40} {count / total * 100:5.1f}% of samples")
    print("    hottest functions (self time, all threads; Runner.run = uvloop's own C code):")
    for name, count in sorted(leaves.items(), key=lambda item: -item[1])[:top]:
        print(f"      {count / total * 100:5.1f}%  {name}")
    print("    main-thread inclusive time in the service's own code:")
    own = [(n, c) for n, c in inclusive.items() if "talkme_consultant" in n]
    for name, count in sorted(own, key=lambda item: -item[1])[:top]:
        print(f"      {count / total * 100:5.1f}%  {name}")


# --- webhook → reply ---------------------------------------------------------------------------


async def wait_for_send(
    sim: httpx.AsyncClient, sim_url: str, token: str, since: int
) -> list[dict[str, Any]]:
    """The simulator's calls for ``token`` after ``since``, once a delivered send is among them."""
    response = await sim.get(
        sim_url + "/_sim/calls",
        params={
            "method": "customBot/send",
            "token": token,
            "since": since,
            "delivered": "true",
            "min_count": 1,
            "timeout": REPLY_TIMEOUT,
        },
        timeout=REPLY_TIMEOUT + 10,
    )
    response.raise_for_status()
    calls: list[dict[str, Any]] = response.json()
    return calls


@dataclass
class ReplySample:
    """One message's timeline, in seconds from just before the webhook was written."""

    ack: float
    typing: float
    send: float


async def reply_latency(
    service: Service, client: WebhookClient, conversations: list[Conversation], samples: int
) -> tuple[list[ReplySample], int]:
    """Each conversation in turn posts a message and waits for the reply; ``samples`` in all,
    spread over the conversations running concurrently. Returns the timelines and failures."""
    timelines: list[ReplySample] = []
    failures = 0
    counter = itertools.count()
    limits = httpx.Limits(max_connections=len(conversations) + 2)
    async with httpx.AsyncClient(limits=limits) as sim:

        async def one(conversation: Conversation) -> None:
            nonlocal failures
            since = 0
            token = conversation.visitor.token
            while next(counter) < samples:
                body = conversation.next_body()
                posted_at = time.time()
                try:
                    status = await client.post(body)
                    acked_at = time.time()
                    if status != 200:
                        failures += 1
                        continue
                    sends = await wait_for_send(sim, service.sim_url, token, since)
                    response = await sim.get(
                        service.sim_url + "/_sim/calls", params={"token": token, "since": since}
                    )
                    response.raise_for_status()
                    calls: list[dict[str, Any]] = response.json()
                except Exception:
                    failures += 1
                    continue
                if not sends:
                    failures += 1
                    continue
                send_at = min(c["at"] for c in sends)
                typing = [c["at"] for c in calls if c["method"] == "customBot/simulateTyping"]
                timelines.append(
                    ReplySample(
                        ack=acked_at - posted_at,
                        typing=(min(typing) if typing else send_at) - posted_at,
                        send=send_at - posted_at,
                    )
                )
                since = max(c["seq"] for c in calls)

        await asyncio.gather(*(one(c) for c in conversations))
    return timelines, failures


async def run_reply_phase(
    service: Service,
    client: WebhookClient,
    samples: int,
    concurrency: int,
    profile: Path | None = None,
) -> None:
    """Print webhook → customBot/send latency with ``concurrency`` conversations at once; with
    ``profile``, where the service's CPU went meanwhile (every thread on a CPU, native code
    such as the embedder's included)."""
    await service.wait_drained(DRAIN_TIMEOUT)
    (await service.http.post(service.sim_url + "/_sim/reset")).raise_for_status()
    conversations = [Conversation.new() for _ in range(concurrency)]
    profiler = start_profiler(service.pid, profile, 3600, gil=True) if profile else None
    try:
        with CpuMeter(service.pid, service.sim_pid) as cpu:
            started = time.perf_counter()
            timelines, failures = await reply_latency(service, client, conversations, samples)
            elapsed = time.perf_counter() - started
    finally:
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            await asyncio.to_thread(stop_profiler, profiler)
    sends = sorted(t.send for t in timelines)
    typings = sorted(t.typing for t in timelines)
    acks = sorted(t.ack for t in timelines)
    label = "one at a time" if concurrency == 1 else f"{concurrency} conversations at once"
    print(
        f"  {label:<24} n={len(sends):<4} send p50 {ms(quantile(sends, 0.50))}"
        f"  p95 {ms(quantile(sends, 0.95))}  max {ms(sends[-1] if sends else math.nan)} ms;"
        f" failures {failures}"
    )
    print(
        f"  {'':<24} (ack p50 {ms(quantile(acks, 0.5))} ms, typing p50"
        f" {ms(quantile(typings, 0.5))} ms; service CPU"
        f" {cpu.used[1] / max(1, len(sends)) * 1e3:.0f} ms/message over {elapsed:.1f} s)"
    )
    if profile is not None and profiler is not None:
        print_profile(profile)


# --- the run -----------------------------------------------------------------------------------


def make_client(kind: str, service_port: int, size: int) -> WebhookClient:
    if kind == "httpx":
        return HttpxClient(f"http://127.0.0.1:{service_port}{WEBHOOK_PATH}", size)
    return RawClient("127.0.0.1", service_port, WEBHOOK_PATH, size)


def print_log_summary(path: Path | None) -> None:
    """Count the warnings and errors the service logged (LOG_LEVEL=WARNING), by message."""
    if path is None:
        return
    kinds: dict[str, int] = {}
    try:
        lines = path.read_bytes().splitlines()
    except OSError:
        return
    for line in lines:
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(record, dict) or record.get("level") not in ("warning", "error"):
            continue
        key = f"{record['level']}: {str(record.get('msg', ''))[:90]}"
        kinds[key] = kinds.get(key, 0) + 1
    if not kinds:
        print("service log      no warnings or errors")
        return
    print(f"service log      {sum(kinds.values())} warnings/errors:")
    for key, count in sorted(kinds.items(), key=lambda item: -item[1])[:8]:
        print(f"  {count:6d} x {key}")


def cpu_model() -> str:
    """The CPU's model name, for the setup lines."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


async def bench(
    args: argparse.Namespace, processes: Processes, work_dir: Path, data_dir: Path
) -> None:
    """Start the simulator and the service, then run every phase and print its figures."""
    fresh = not (data_dir / "talkme.sqlite3").exists()
    sim_port, service_port = free_port(), free_port()

    print_header("setup")
    print(f"machine          {CORES} cores ({cpu_model()}), Python {platform.python_version()}")
    print(
        f"load             open loop {args.rate:g}/s for {args.seconds:g} s, closed loop "
        f"{args.seconds:g} s, {args.conversations} conversations; {args.samples} reply samples;"
        f" client {args.client}"
    )
    print(f"data dir         {data_dir} ({'fresh' if fresh else 'reused'})")
    print("note             client, service and simulator share this machine's cores")

    processes.simulator = start_simulator(sim_port, work_dir / "simulator.log")
    processes.service_log = work_dir / "service.log"
    processes.service = start_service(
        data_dir, sim_port, service_port, processes.service_log, work_dir
    )
    service_url = f"http://127.0.0.1:{service_port}"
    sim_url = f"http://127.0.0.1:{sim_port}"
    async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT) as http:
        await wait_until_up(http, sim_url + "/_sim/faults", processes.simulator, 30)
        up = await wait_until_up(
            http, service_url + HEALTH_PATH, processes.service, STARTUP_TIMEOUT
        )
        print(f"service up       healthy {up:.1f} s after start")
        service = Service(
            service_url, sim_url, processes.service.pid, processes.simulator.pid, http
        )
        quiet = await service.wait_quiet(QUIET_TIMEOUT)
        busy = f"{quiet:.1f} s" if quiet is not None else f"over {QUIET_TIMEOUT:.0f} s (went on)"
        print(f"startup work     background work (case-file scoring) after health: {busy}")
        rss, _ = process_memory(service.pid)
        print(f"service memory   RSS {rss:.0f} MiB when idle after start")

        # Room for every open-loop request in flight: a pool too small would queue requests
        # in the client, which the latency would then (rightly, but confusingly) include.
        client = make_client(args.client, service_port, max(args.conversations, 10) * 2)
        try:
            warm = [Conversation.new() for _ in range(10)]
            await asyncio.gather(
                *(
                    timed_post(client, warm[i % 10].next_body(), LoadResult())
                    for i in range(WARMUP_MESSAGES)
                )
            )
            await service.wait_drained(DRAIN_TIMEOUT)

            print_header("webhook → customBot/send (service idle, offline answerer, debounce 0)")
            replies_profile = Path(args.profile_replies) if args.profile_replies else None
            await run_reply_phase(service, client, args.samples, 1, replies_profile)
            await run_reply_phase(service, client, args.samples, 10)

            conversations = [Conversation.new() for _ in range(args.conversations)]
            await run_load_phase(
                service,
                client,
                f"open loop at {args.rate:g} webhooks/s",
                lambda: open_loop(client, conversations, args.rate, args.seconds),
                offered=args.rate,
                profile=Path(args.profile) if args.profile else None,
                seconds=args.seconds,
            )
            conversations = [Conversation.new() for _ in range(args.conversations)]
            await run_load_phase(
                service,
                client,
                f"closed loop, {args.conversations} conversations back to back",
                lambda: closed_loop(client, conversations, args.seconds),
                offered=None,
            )
        finally:
            await client.aclose()
        rss, peak = process_memory(service.pid)
        print_header("end")
        print(f"service memory   RSS {rss:.0f} MiB (peak {peak:.0f} MiB)")
        print_log_summary(processes.service_log)


def run_simulator(port: int) -> None:
    """Simulator mode: serve the TalkMe stand-in on loopback until terminated."""
    import uvicorn

    from talkme_consultant.talkme.simulator import create_simulator_app

    uvicorn.run(
        create_simulator_app(),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=None, help="open-loop webhooks/s (500)")
    parser.add_argument("--seconds", type=float, default=None, help="each load phase (10)")
    parser.add_argument("--conversations", type=int, default=None, help="load phases (100)")
    parser.add_argument("--samples", type=int, default=None, help="reply samples per run (100)")
    parser.add_argument("--quick", action="store_true", help="small numbers, for a smoke run")
    parser.add_argument("--data-dir", help="reuse this DATA_DIR (kept) instead of a temp one")
    parser.add_argument(
        "--client", choices=("raw", "httpx"), default="raw", help="webhook client (raw)"
    )
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="record the service with py-spy during the open-loop phase (collapsed stacks)",
    )
    parser.add_argument(
        "--profile-replies",
        metavar="FILE",
        help="record the service with py-spy while it answers one message at a time",
    )
    parser.add_argument("--simulator", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    defaults = (
        {"rate": 100.0, "seconds": 3.0, "conversations": 20, "samples": 20}
        if args.quick
        else {"rate": 500.0, "seconds": 10.0, "conversations": 100, "samples": 100}
    )
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.simulator is not None:
        run_simulator(args.simulator)
        return 0
    processes = Processes()
    work_dir = Path(tempfile.mkdtemp(prefix="talkme-service-bench-"))
    # SIGTERM ends the run through the `finally` below, so the subprocesses go with it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    try:
        runner: Callable[[Any], Any] = asyncio.run
        with contextlib.suppress(ImportError):
            import uvloop

            runner = uvloop.run
        data_dir = Path(args.data_dir).resolve() if args.data_dir else work_dir / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        runner(bench(args, processes, work_dir, data_dir))
        return 0
    except Exception:
        if processes.service_log is not None and processes.service_log.exists():
            tail = processes.service_log.read_text(errors="replace")[-4000:]
            print(f"\n--- service log (tail) ---\n{tail}", file=sys.stderr)
        raise
    finally:
        stop(processes.service)
        stop(processes.simulator)
        shutil.rmtree(work_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
