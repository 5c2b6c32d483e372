"""Scale-out benchmark: web and worker processes apart, on SQLite and on PostgreSQL.

    .venv/bin/python bench/scaleout_bench.py             # 500/s for 10 s, 600 answers
    .venv/bin/python bench/scaleout_bench.py --quick     # 500/s for 4 s, 300 answers
    .venv/bin/python bench/scaleout_bench.py --only sqlite
    .venv/bin/python bench/scaleout_bench.py --worker-nice 0   # workers at the web's priority
    .venv/bin/python bench/scaleout_bench.py --closed-loop      # 40 visitors, kill -9 halfway

Two set-ups, each with its own processes (the commands of the README's deployment guide):

* **sqlite**: one `serve --no-workers` and one `worker` on one SQLite file (a second worker is
  added for the two-worker figure);
* **postgres**: two `serve --no-workers` and two `worker` processes on a throwaway PostgreSQL
  database (``--postgres URL`` of a maintenance database; 127.0.0.1:5432 as ``postgres`` by
  default), dropped afterwards.

The TalkMe simulator runs in its own process; the answerer is the offline one; the knowledge base
is the sample, embedded once into a SQLite template (its embeddings are copied to PostgreSQL).
Every message is a turn of its own (`DEBOUNCE_SECONDS=0`), the workers' worst case; the workers
keep their own `WORKER_NICE` unless ``--worker-nice`` says otherwise.

Phases per set-up:

1. **ack latency**: an open loop of ``--rate`` webhooks/s for ``--seconds`` over 200
   conversations, round-robin over the web processes (sent by the clock, not by the answers);
   p50/p99/max as the client sees them, then until everything is answered;
2. **answers at saturation**: the workers are stopped (SIGSTOP), ``--answers`` conversations get
   one question each, the workers are continued (SIGCONT) and timed until every reply has reached
   the simulator; answers per second, and the workers' CPU time per answer. Once with one worker
   (the others stay stopped), once with two;
3. RSS of every process at the end.

With ``--closed-loop`` only the postgres set-up runs, and only this phase instead:

* **closed loop through kill -9**: ``--visitors`` (40) visitors each send ``--messages`` (10)
  messages, one at a time: a message is sent, and the next one only once the bot's reply to it
  has reached the simulator (a delivered ``customBot/send`` for the visitor's token after the
  message was sent). A webhook refused (503) or not connected is sent again, to the other web
  process, as TalkMe would. When half of all messages are answered, one web and one worker
  process get ``kill -9`` and are started again (same name, same port). Prints the reply
  latency p50/p95/max (webhook first sent -> reply delivered to the simulator), messages sent,
  acknowledged, answered, lost (no reply within 120 s), answered twice (a reply delivered again
  right after itself, as when a killed worker had sent a call but not marked it done) and any
  other send no message waited for. Here the service keeps its own debounce window
  (``DEBOUNCE_SECONDS`` unset: 1.5 s by default, or ``--debounce``), since this measures the
  latency a visitor sees, debounce included, not the workers' worst case.

Prints a table and asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import math
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx
import orjson
from sqlalchemy.engine import make_url

from service_bench import (
    ADMIN_TOKEN,
    HEALTH_PATH,
    STATS_PATH,
    Conversation,
    LoadResult,
    RawClient,
    WebhookClient,
    free_port,
    ms,
    open_loop,
    process_cpu,
    process_memory,
    quantile,
    service_env,
    start_simulator,
    stop,
    wait_until_up,
)
from talkme_consultant.config import SAMPLE_KNOWLEDGE_DIR
from talkme_consultant.store.database import asyncpg_dsn, migrate
from talkme_consultant.talkme.payloads import WEBHOOK_PATH

CLI = Path(sys.executable).with_name("talkme-consultant")
READY_LINE = b"worker ready"
STARTUP_TIMEOUT = 600.0
DRAIN_TIMEOUT = 300.0
QUIET_SECONDS = 1.0


def spread(latencies: Sequence[float], upper: float) -> str:
    """«p50 / p<upper> / max» of sorted latencies, in milliseconds."""
    last = latencies[-1] if latencies else math.nan
    return " / ".join(ms(v) for v in (quantile(latencies, 0.5), quantile(latencies, upper), last))


@dataclass
class Proc:
    """One process of the set-up under test."""

    name: str
    role: str
    process: subprocess.Popen[bytes]
    log: Path
    port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Row:
    """One line of the final table."""

    setup: str
    figure: str
    value: str


@dataclass
class Setup:
    """A set of web and worker processes on one database."""

    name: str
    database_url: str | None
    data_root: Path
    sim_port: int
    pool_size: int = 5
    max_overflow: int = 5
    worker_nice: int | None = None
    # DEBOUNCE_SECONDS; None keeps the service's default.
    debounce: float | None = 0.0
    procs: list[Proc] = field(default_factory=list)

    def env(self, name: str, data_dir: Path, port: int | None) -> dict[str, str]:
        env = service_env(data_dir, self.sim_port, port or 0)
        if port is None:
            del env["PORT"]  # a worker listens on nothing
        env.update(INSTANCE_ID=name, KNOWLEDGE_DIR=str(SAMPLE_KNOWLEDGE_DIR), WORKERS="8")
        # Four processes on a server with max_connections=100, shared with test runs.
        env.update(DB_POOL_SIZE=str(self.pool_size), DB_MAX_OVERFLOW=str(self.max_overflow))
        if self.worker_nice is not None:
            env["WORKER_NICE"] = str(self.worker_nice)
        if self.debounce is None:
            del env["DEBOUNCE_SECONDS"]
        else:
            env["DEBOUNCE_SECONDS"] = str(self.debounce)
        if "PYTHONPATH" in os.environ:
            # Run the checkout this bench was started from, not whatever is installed.
            env["PYTHONPATH"] = os.environ["PYTHONPATH"]
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        return env

    def data_dir(self, name: str) -> Path:
        # SQLite processes share the file in one DATA_DIR; PostgreSQL ones need only their own.
        return self.data_root if self.database_url is None else self.data_root / name

    def start_web(self, name: str, port: int | None = None) -> Proc:
        port = port or free_port()
        log = self.data_root.parent / f"{self.name}-{name}.log"
        data_dir = self.data_dir(name)
        data_dir.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(CLI), "serve", "--no-workers", "--port", str(port)],
                env=self.env(name, data_dir, port),
                cwd=self.data_root.parent,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        proc = Proc(name, "web", process, log, port)
        self.procs.append(proc)
        return proc

    def start_worker(self, name: str) -> Proc:
        log = self.data_root.parent / f"{self.name}-{name}.log"
        data_dir = self.data_dir(name)
        data_dir.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(CLI), "worker"],
                env=self.env(name, data_dir, None),
                cwd=self.data_root.parent,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        proc = Proc(name, "worker", process, log)
        self.procs.append(proc)
        return proc

    @property
    def webs(self) -> list[Proc]:
        return [p for p in self.procs if p.role == "web"]

    @property
    def workers(self) -> list[Proc]:
        return [p for p in self.procs if p.role == "worker"]

    def stop_all(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                proc.process.send_signal(signal.SIGCONT)
            stop(proc.process)


async def wait_ready(http: httpx.AsyncClient, proc: Proc) -> None:
    """Health 200 for a web process, the ready line for a worker."""
    if proc.role == "web":
        try:
            await wait_until_up(http, proc.url + HEALTH_PATH, proc.process, STARTUP_TIMEOUT)
        except RuntimeError as error:
            tail = proc.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{proc.name}: {error}; its log ends:\n{tail}") from error
        return
    started = time.perf_counter()
    while READY_LINE not in proc.log.read_bytes():
        if proc.process.poll() is not None:
            tail = proc.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{proc.name} exited with {proc.process.returncode}:\n{tail}")
        if time.perf_counter() - started > STARTUP_TIMEOUT:
            raise RuntimeError(f"{proc.name} was not ready after {STARTUP_TIMEOUT:.0f}s")
        await asyncio.sleep(0.2)


async def wait_quiet(procs: Sequence[Proc], timeout: float = 180.0) -> None:
    """Until every process uses under 5% of a core for two seconds (start-up scoring is done)."""
    started = time.perf_counter()
    calm = 0
    while time.perf_counter() - started < timeout and calm < 2:
        before = sum(process_cpu(p.process.pid) for p in procs)
        await asyncio.sleep(QUIET_SECONDS)
        used = sum(process_cpu(p.process.pid) for p in procs) - before
        calm = calm + 1 if used < 0.05 * QUIET_SECONDS * len(procs) else 0


async def wait_drained(http: httpx.AsyncClient, web: Proc, timeout: float = DRAIN_TIMEOUT) -> float:
    """Seconds until no message waits and no call is left to make (NaN if not within timeout)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        response = await http.get(
            web.url + STATS_PATH, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )
        stats = response.json()
        if stats["messages_pending"] == 0 and stats["pending_calls"] == 0:
            return time.perf_counter() - started
        await asyncio.sleep(0.05)
    return math.nan


class RoundRobin(WebhookClient):
    """Spreads webhooks over several web processes, as a load balancer would."""

    def __init__(self, clients: Sequence[WebhookClient]) -> None:
        self._clients = list(clients)
        self._next = 0

    async def post(self, body: bytes) -> int:
        client = self._clients[self._next % len(self._clients)]
        self._next += 1
        return await client.post(body)

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()


def cpu_of(procs: Sequence[Proc]) -> float:
    return sum(process_cpu(p.process.pid) for p in procs)


async def ack_phase(
    setup: Setup, http: httpx.AsyncClient, rate: float, seconds: float, rows: list[Row]
) -> None:
    client = RoundRobin(
        [RawClient("127.0.0.1", web.port or 0, WEBHOOK_PATH, 256) for web in setup.webs]
    )
    conversations = [Conversation.new() for _ in range(200)]
    cpu_before = {p.name: process_cpu(p.process.pid) for p in setup.procs}
    try:
        result: LoadResult = await open_loop(client, conversations, rate, seconds)
    finally:
        await client.aclose()
    drained = await wait_drained(http, setup.webs[0])
    latencies = sorted(result.latencies)
    label = f"{len(setup.webs)} web + {len(setup.workers)} worker"
    rows += [
        Row(
            setup.name,
            f"ack at {rate:.0f}/s ({label}): sent / ok",
            f"{result.sent} / {len(latencies)}",
        ),
        Row(
            setup.name,
            "ack p50 / p99 / max (ms)",
            spread(latencies, 0.99),
        ),
        Row(setup.name, "ack errors", str(result.errors or "none")),
        Row(setup.name, "answered everything after the load (s)", f"{drained:.1f}"),
    ]
    for proc in setup.procs:
        used = process_cpu(proc.process.pid) - cpu_before[proc.name]
        rows.append(
            Row(setup.name, f"CPU during ack phase + drain: {proc.name} (s)", f"{used:.1f}")
        )


async def saturation_phase(
    setup: Setup, http: httpx.AsyncClient, workers: int, answers: int, rows: list[Row]
) -> None:
    running = setup.workers[:workers]
    for proc in setup.workers:
        proc.process.send_signal(signal.SIGSTOP)
    client = RoundRobin(
        [RawClient("127.0.0.1", web.port or 0, WEBHOOK_PATH, 64) for web in setup.webs]
    )
    try:
        bodies = [Conversation.new().next_body() for _ in range(answers)]
        statuses = await asyncio.gather(*(client.post(body) for body in bodies))
    finally:
        await client.aclose()
    refused = sum(1 for status in statuses if status != 200)
    cpu_before = cpu_of(running)
    for proc in running:
        proc.process.send_signal(signal.SIGCONT)
    drained = await wait_drained(http, setup.webs[0])
    used = cpu_of(running) - cpu_before
    for proc in setup.workers:
        proc.process.send_signal(signal.SIGCONT)
    rows += [
        Row(
            setup.name, f"answers/s at saturation, {workers} worker(s)", f"{answers / drained:.1f}"
        ),
        Row(
            setup.name,
            f"worker CPU per answer, {workers} worker(s) (ms)",
            f"{used / answers * 1000:.1f}",
        ),
    ]
    if refused:
        rows.append(Row(setup.name, "webhooks refused while loading", str(refused)))


LOST_AFTER = 120.0  # seconds after its webhook without a reply: the message counts as lost


@dataclass
class Sent:
    """One closed-loop message: when first sent, the last call seq seen before it, its reply."""

    posted_at: float
    since: int
    acked: bool = False
    replied_at: float | None = None


async def post_until_acked(
    http: httpx.AsyncClient, setup: Setup, first: int, body: bytes, refused: Counter[str]
) -> bool:
    """As TalkMe does: a refusal or a failed connection is sent again to the next web process."""
    started = time.perf_counter()
    attempt = 0
    while time.perf_counter() - started < LOST_AFTER:
        webs = setup.webs
        web = webs[(first + attempt) % len(webs)]
        attempt += 1
        try:
            response = await http.post(
                web.url + WEBHOOK_PATH, content=body, headers={"Content-Type": "application/json"}
            )
        except httpx.TransportError:
            refused["connection"] += 1
        else:
            if response.status_code == 200:
                return True
            refused[str(response.status_code)] += 1
        await asyncio.sleep(min(0.05 * 2**attempt, 1.0))
    return False


async def delivered_sends(
    http: httpx.AsyncClient, sim_url: str, token: str, since: int, wait: float | None = None
) -> list[dict[str, Any]]:
    """The simulator's delivered ``customBot/send`` calls for ``token`` after ``since``; with
    ``wait``, first wait up to that long for one."""
    params: dict[str, str | int | float] = {
        "method": "customBot/send",
        "token": token,
        "since": since,
        "delivered": "true",
    }
    if wait is not None:
        params.update(min_count=1, timeout=wait)
    response = await http.get(sim_url + "/_sim/calls", params=params, timeout=(wait or 0) + 30)
    response.raise_for_status()
    calls: list[dict[str, Any]] = response.json()
    return calls


async def latest_seq(http: httpx.AsyncClient, sim_url: str, token: str, since: int) -> int:
    response = await http.get(sim_url + "/_sim/calls", params={"token": token, "since": since})
    response.raise_for_status()
    return max((int(call["seq"]) for call in response.json()), default=since)


async def kill_and_restart(setup: Setup, http: httpx.AsyncClient) -> float:
    """``kill -9`` of the first web and the first worker, both started again; seconds down."""
    web, worker = setup.webs[0], setup.workers[0]
    killed_at = time.perf_counter()
    for proc in (web, worker):
        proc.process.kill()
        proc.process.wait()
        setup.procs.remove(proc)
        proc.log.rename(proc.log.with_suffix(".killed.log"))
    restarted = [setup.start_web(web.name, web.port), setup.start_worker(worker.name)]
    await asyncio.gather(*(wait_ready(http, proc) for proc in restarted))
    return time.perf_counter() - killed_at


async def closed_loop_phase(
    setup: Setup, http: httpx.AsyncClient, visitors: int, messages: int, rows: list[Row]
) -> None:
    sim_url = f"http://127.0.0.1:{setup.sim_port}"
    conversations = [Conversation.new() for _ in range(visitors)]
    sent: list[list[Sent]] = [[] for _ in conversations]
    refused: Counter[str] = Counter()
    answered = 0
    halfway = asyncio.Event()
    limits = httpx.Limits(max_connections=2 * visitors + 8, max_keepalive_connections=visitors)

    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def visitor(index: int) -> None:
            nonlocal answered
            conversation = conversations[index]
            token = conversation.visitor.token
            since = 0
            last_reply = b""
            for _ in range(messages):
                body = conversation.next_body()
                message = Sent(time.time(), since)
                sent[index].append(message)
                message.acked = await post_until_acked(client, setup, index, body, refused)
                if not message.acked:
                    continue
                deadline = message.posted_at + LOST_AFTER
                sends: list[dict[str, Any]] = []
                while not sends and time.time() < deadline:
                    wait = min(60.0, max(0.1, deadline - time.time()))
                    sends = await delivered_sends(client, sim_url, token, since, wait)
                    # The last reply sent again (its worker was killed before it marked the call
                    # done) is no reply to this message: counted as a repeat below, skipped here.
                    repeats = [c for c in sends if orjson.dumps(c["body"]) == last_reply]
                    if repeats:
                        since = max(int(c["seq"]) for c in repeats)
                        sends = [c for c in sends if c not in repeats]
                if not sends:
                    continue  # lost; the visitor writes its next message anyway
                first = min(sends, key=lambda call: int(call["seq"]))
                message.replied_at = float(first["at"])
                last_reply = orjson.dumps(first["body"])
                since = await latest_seq(client, sim_url, token, since)
                answered += 1
                if answered >= visitors * messages // 2:
                    halfway.set()

        async def fault() -> float:
            await halfway.wait()
            return await kill_and_restart(setup, http)

        started = time.perf_counter()
        killer = asyncio.create_task(fault())
        await asyncio.gather(*(visitor(i) for i in range(visitors)))
        elapsed = time.perf_counter() - started
        if halfway.is_set():
            down = await killer
        else:
            killer.cancel()
            down = math.nan

        # Every delivered send at the end: a reply is either the one a message waited for, a
        # repeat of the send before it (the same reply twice), or something else (extra).
        await wait_drained(http, setup.webs[0])
        await asyncio.sleep(3.0)
        delivered = repeated = extra = 0
        for index, conversation in enumerate(conversations):
            calls = await delivered_sends(client, sim_url, conversation.visitor.token, 0)
            bodies = [orjson.dumps(c["body"]) for c in sorted(calls, key=lambda c: int(c["seq"]))]
            delivered += len(bodies)
            again = sum(1 for a, b in itertools.pairwise(bodies) if a == b)
            repeated += again
            replied = sum(1 for message in sent[index] if message.replied_at is not None)
            extra += len(bodies) - again - replied

    all_sent = [message for messages_of in sent for message in messages_of]
    latencies = sorted(m.replied_at - m.posted_at for m in all_sent if m.replied_at is not None)
    acked = sum(1 for m in all_sent if m.acked)
    lost = len(all_sent) - len(latencies)
    label = f"{len(setup.webs)} web + {len(setup.workers)} worker"
    debounce = "service default" if setup.debounce is None else f"{setup.debounce:g} s"
    rows += [
        Row(
            setup.name,
            f"closed loop ({label}, {visitors} visitors x {messages}, debounce {debounce})",
            f"{elapsed:.1f} s",
        ),
        Row(
            setup.name,
            "reply p50 / p95 / max (ms)",
            spread(latencies, 0.95),
        ),
        Row(
            setup.name,
            "sent / acknowledged / answered",
            f"{len(all_sent)} / {acked} / {len(latencies)}",
        ),
        Row(setup.name, f"lost (no reply within {LOST_AFTER:.0f} s)", str(lost)),
        Row(setup.name, "sends delivered to the simulator", str(delivered)),
        Row(setup.name, "answered twice (the same reply delivered again)", str(repeated)),
        Row(setup.name, "other sends (late or unexplained replies)", str(extra)),
        Row(setup.name, "kill -9 web-1 + worker-1 -> both ready again (s)", f"{down:.1f}"),
        Row(
            setup.name,
            "webhooks refused and sent again",
            ", ".join(f"{k}: {v}" for k, v in sorted(refused.items())) or "none",
        ),
    ]


async def run_setup(
    setup: Setup, webs: int, workers: int, args: argparse.Namespace, rows: list[Row]
) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        try:
            for n in range(webs):
                setup.start_web(f"web-{n + 1}")
            for n in range(workers):
                setup.start_worker(f"worker-{n + 1}")
            await asyncio.gather(*(wait_ready(http, proc) for proc in setup.procs))
            await wait_quiet(setup.procs)
            if args.closed_loop:
                await closed_loop_phase(setup, http, args.visitors, args.messages, rows)
            else:
                await ack_phase(setup, http, args.rate, args.seconds, rows)
                await saturation_phase(setup, http, 1, args.answers, rows)
                if len(setup.workers) < 2:
                    second = setup.start_worker("worker-2")
                    await wait_ready(http, second)
                    await wait_quiet(setup.procs)
                await saturation_phase(setup, http, 2, args.answers, rows)
            for proc in setup.procs:
                rss, peak = process_memory(proc.process.pid)
                rows.append(
                    Row(setup.name, f"RSS {proc.name} now / peak (MiB)", f"{rss:.0f} / {peak:.0f}")
                )
            for proc in setup.procs:
                errors = proc.log.read_bytes().count(b'"level": "error"')
                if errors:
                    rows.append(Row(setup.name, f"error lines logged by {proc.name}", str(errors)))
        finally:
            setup.stop_all()


async def warm_template(folder: Path, sim_port: int) -> None:
    """Embed the sample knowledge base once into a SQLite data dir (a `serve` until healthy)."""
    setup = Setup("template", None, folder, sim_port)
    async with httpx.AsyncClient(timeout=30) as http:
        try:
            proc = setup.start_web("template")
            await wait_ready(http, proc)
        finally:
            setup.stop_all()


async def postgres_database(admin: str, template: Path) -> tuple[str, str]:
    """A new database with the schema and the template's embeddings; (its URL, its name)."""
    name = f"talkme_bench_{secrets.token_hex(4)}"
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    url = make_url(admin).set(drivername="postgresql+asyncpg", database=name)
    rendered = url.render_as_string(hide_password=False)
    await migrate(rendered)
    with sqlite3.connect(template / "talkme.sqlite3") as source:
        rows = source.execute("SELECT model, content_hash, vector FROM embedding_cache").fetchall()
    connection = await asyncpg.connect(asyncpg_dsn(rendered))
    try:
        await connection.executemany(
            "INSERT INTO embedding_cache (model, content_hash, vector) VALUES ($1, $2, $3)", rows
        )
    finally:
        await connection.close()
    return rendered, name


async def drop_database(admin: str, name: str) -> None:
    connection = await asyncpg.connect(admin)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def bench(args: argparse.Namespace) -> None:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="scaleout-bench-") as folder:
        root = Path(folder)
        sim_port = free_port()
        simulator = start_simulator(sim_port, root / "simulator.log")
        try:
            async with httpx.AsyncClient() as http:
                await wait_until_up(http, f"http://127.0.0.1:{sim_port}/_sim/calls", simulator, 60)
            template = root / "template" / "data"
            template.mkdir(parents=True)
            print("embedding the sample knowledge base once…", flush=True)
            await warm_template(template, sim_port)
            if args.only in (None, "sqlite") and not args.closed_loop:
                print("sqlite: one web + one worker process…", flush=True)
                data = root / "sqlite" / "data"
                shutil.copytree(template, data)
                setup = Setup("sqlite", None, data, sim_port, worker_nice=args.worker_nice)
                await run_setup(setup, 1, 1, args, rows)
            if args.only in (None, "postgres"):
                print("postgres: two web + two worker processes…", flush=True)
                url, name = await postgres_database(args.postgres, template)
                try:
                    setup = Setup(
                        "postgres",
                        url,
                        root / "postgres" / "data",
                        sim_port,
                        pool_size=args.pool_size,
                        max_overflow=args.max_overflow,
                        worker_nice=args.worker_nice,
                        debounce=args.debounce if args.closed_loop else 0.0,
                    )
                    await run_setup(setup, 2, 2, args, rows)
                finally:
                    await drop_database(args.postgres, name)
        finally:
            stop(simulator)
    width = max(len(row.figure) for row in rows)
    print(f"\n{'set-up':<9} {'figure':<{width}}  value")
    for row in rows:
        print(f"{row.setup:<9} {row.figure:<{width}}  {row.value}")
    print(
        f"\ncores: {len(os.sched_getaffinity(0))}; client, simulator and every process share them"
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=500.0, help="webhooks per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the ack phase")
    parser.add_argument("--answers", type=int, default=600, help="questions per saturation run")
    parser.add_argument("--quick", action="store_true", help="4 s of load, 300 answers")
    parser.add_argument("--only", choices=("sqlite", "postgres"))
    parser.add_argument(
        "--closed-loop", action="store_true", help="postgres only: visitors in closed loop, kill -9"
    )
    parser.add_argument("--visitors", type=int, default=40, help="closed-loop visitors")
    parser.add_argument("--messages", type=int, default=10, help="messages per closed-loop visitor")
    parser.add_argument(
        "--debounce", type=float, help="closed loop's DEBOUNCE_SECONDS (default: the service's)"
    )
    parser.add_argument("--pool-size", type=int, default=5, help="DB_POOL_SIZE per process")
    parser.add_argument("--max-overflow", type=int, default=5, help="DB_MAX_OVERFLOW")
    parser.add_argument(
        "--worker-nice", type=int, help="WORKER_NICE of the worker processes (default: theirs)"
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "TALKME_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="a maintenance database of the PostgreSQL server to use",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.answers = 4.0, 300
    args.postgres = args.postgres.replace("postgresql+asyncpg://", "postgresql://")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    asyncio.run(bench(parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
