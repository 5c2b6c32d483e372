"""Open questions benchmark: 10,000 open questions in the console, served over real HTTP.

    .venv/bin/python bench/open_questions_bench.py                   # EMBEDDER=local (e5)
    .venv/bin/python bench/open_questions_bench.py --embedder none   # shared stems
    .venv/bin/python bench/open_questions_bench.py --quick           # 2,000 questions, shorter

What runs (loopback only, temporary directories only): a fresh SQLite DATA_DIR is seeded with
`--questions` `unanswered` events, as turns that handed over record them, each a visitor's
question drawn from a few thousand generated salon questions (popular ones asked more often,
greetings, tails and typos around them). Then the service runs as two real processes on that
store, as a host that serves the console beside the bot would: `talkme-consultant serve
--no-workers` (HTTP: the console, the webhook, the health check) and `talkme-consultant worker`
(the turns, with the sample knowledge and the offline answerer, at its default lower CPU
priority), so answering visitors is not counted as the console's cost. This process, as the
owner and a monitor, signs in through the console's form and measures the web process:

0. baseline: the health check alone for 5 s, probed every 10 ms (what the machine gives);
1. first read: the first load of the questions page collects every event and groups them all
   (with e5 each distinct wording is embedded once); its time, and the health check's p99
   meanwhile;
2. quiet: the questions page (first page, and page 5) `--loads` times, one at a time: p50/p95;
3. collecting: for `--seconds`, `--rate` new visitors a second write to the webhook as TalkMe
   would (the worker answers them in test mode; those it hands over become open questions),
   the page is loaded twice a second (each load collects and groups what came), and
   `/webhook/talkme/health` is probed every 10 ms;
4. regrouping: «Перегруппировать» is pressed `--regroups` times in a row, each time followed
   by the page its redirect shows and by the status the page asks for until the regrouping is
   done; the health check is probed every 10 ms from the press until then.

It prints the page's p50/p95 and the health check's p50/p99 per phase in milliseconds (targets:
page p95 under 200 ms, health p99 under 50 ms), with the CPU the web process used in each phase
and the machine's load average (on a shared machine the CPU is the steadier figure), and asserts
nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert

from talkme_consultant.store.models import Event
from talkme_consultant.store.store import Store
from talkme_consultant.talkme.payloads import WEBHOOK_PATH
from talkme_consultant.talkme.visitor import Visitor, build_webhook_body

ADMIN_TOKEN = "bench-admin-token-24-chars-long"
HEALTH = "/webhook/talkme/health"
PAGE = "/console/questions"
CHUNK = 5_000
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

SERVICES = [
    "маникюр",
    "маникюр с покрытием",
    "японский маникюр",
    "педикюр",
    "аппаратный педикюр",
    "стрижка",
    "мужская стрижка",
    "детская стрижка",
    "стрижка чёлки",
    "окрашивание",
    "окрашивание корней",
    "тонирование волос",
    "мелирование",
    "балаяж",
    "кератиновое выпрямление",
    "ботокс для волос",
    "укладка",
    "вечерняя причёска",
    "свадебная причёска",
    "макияж",
    "свадебный макияж",
    "наращивание ресниц",
    "ламинирование ресниц",
    "ламинирование бровей",
    "коррекция бровей",
    "окрашивание бровей хной",
    "шугаринг",
    "восковая депиляция",
    "лазерная эпиляция",
    "массаж лица",
    "массаж спины",
    "антицеллюлитный массаж",
    "чистка лица",
    "пилинг",
    "обёртывание",
    "наращивание ногтей",
    "снятие гель-лака",
    "дизайн ногтей",
    "парафинотерапия",
    "spa-программа для двоих",
]
FRAMES = [
    "Сколько стоит {s}?",
    "{s} сколько стоит",
    "Какая цена на {s}?",
    "цена {s}?",
    "{s} — сколько по времени?",
    "Сколько длится {s}?",
    "Делаете {s}?",
    "а {s} у вас делают?",
    "Можно записаться на {s} {w}?",
    "запишите на {s} {w}",
    "Есть свободное время на {s} {w}?",
    "{s} {w} можно?",
    "Есть ли скидки на {s}?",
    "{s} для студентов дешевле?",
    "Кто у вас делает {s}, какой мастер лучше?",
    "Интересует {s}, какие материалы?",
    "Сколько стоит {s} у топ-мастера?",
]
WHEN = [
    "сегодня",
    "завтра",
    "в субботу",
    "в воскресенье",
    "на выходных",
    "вечером",
    "после 18",
    "утром",
    "в пятницу",
]
ODD = [
    "Можно прийти с собакой?",
    "у вас есть парковка для велосипедов",
    "принимаете биткоин?",
    "можно с ребёнком 3 лет?",
    "есть ли wi-fi",
    "Делаете татуировки?",
    "пирсинг ушей делаете?",
    "есть подарочные сертификаты на 5000?",
    "можно оплатить долями?",
    "работаете 31 декабря?",
    "вы продаёте шампуни?",
    "можно прийти со своим лаком?",
    "вакансии мастера маникюра есть?",
    "а у вас есть душ?",
    "можно сделать маникюр и педикюр одновременно в 4 руки?",
    "делаете перманентный макияж губ?",
    "есть ли у вас детская комната",
    "как добраться от метро пешком?",
]
GREETINGS = ["", "", "", "Здравствуйте! ", "Добрый день, ", "привет) ", "Подскажите, пожалуйста, "]
TAILS = ["", "", "", " спасибо", " срочно", " пожалуйста", " заранее спасибо!"]


def wordings(rng: random.Random) -> list[str]:
    """The distinct questions visitors ask: every service in every frame, and odd ones."""
    texts = [frame.format(s=s, w=rng.choice(WHEN)) for s in SERVICES for frame in FRAMES]
    texts += ODD
    rng.shuffle(texts)
    return texts


def typo(text: str, rng: random.Random) -> str:
    """Two neighbouring letters swapped somewhere, as fast typists do."""
    letters = [i for i in range(len(text) - 1) if text[i].isalpha() and text[i + 1].isalpha()]
    if not letters:
        return text
    i = rng.choice(letters)
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def visitor_question(base: list[str], rng: random.Random) -> str:
    """One visitor's message: a popular question more often, dressed the visitor's way."""
    if rng.random() < 0.3:
        # Zipf-like: the first questions of the shuffled list are the salon's popular ones.
        core = base[min(len(base) - 1, int(rng.paretovariate(1.1)) - 1)]
    else:
        core = rng.choice(base)
    text = rng.choice(GREETINGS) + core + rng.choice(TAILS)
    if rng.random() < 0.15:
        text = typo(text, rng)
    return text if rng.random() < 0.7 else text.lower()


def event_row(number: int, question: str, at: float) -> dict[str, Any]:
    """An `unanswered` event as a turn that handed over records it."""
    data = {"question": question, "reason": "low_confidence"}
    return {
        "conversation_key": f"bench-visitor-{number}",
        "kind": "unanswered",
        "data": json.dumps(data, ensure_ascii=False),
        "created_at": at,
    }


async def seed(url: str, count: int, rng: random.Random, base: list[str]) -> int:
    """`count` unanswered events over the last 30 days; returns how many wordings differ."""
    now = time.time()
    asked = [visitor_question(base, rng) for _ in range(count)]
    rows = [
        event_row(n, text, now - 30 * 86_400 + n * 30 * 86_400 / count)
        for n, text in enumerate(asked)
    ]
    store = await Store.open(url)
    try:
        async with store.engine.begin() as connection:
            for offset in range(0, len(rows), CHUNK):
                await connection.execute(insert(Event), rows[offset : offset + CHUNK])
    finally:
        await store.close()
    return len(set(asked))


# --- the service ------------------------------------------------------------------------------


def service_env(data_dir: Path, port: int, embedder: str) -> dict[str, str]:
    """A clean environment: only what the service needs (PYTHONPATH kept for a checkout)."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ", "PYTHONPATH")
    env = {name: os.environ[name] for name in keep if name in os.environ}
    env.update(
        DATA_DIR=str(data_dir),
        ADMIN_TOKEN=ADMIN_TOKEN,
        EMBEDDER=embedder,
        WEBHOOK_SECRET="off",
        LOG_LEVEL="WARNING",
        PORT=str(port),
    )
    return env


def start_service(
    command: list[str], data_dir: Path, port: int, embedder: str, log_path: Path, cwd: Path
) -> subprocess.Popen[bytes]:
    """``talkme-consultant <command>`` from this interpreter's environment (``.venv/bin``)."""
    executable = Path(sys.executable).parent / "talkme-consultant"
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [str(executable), *command],
            env=service_env(data_dir, port, embedder),
            cwd=cwd,  # a temp dir: no stray .env is read
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 15 s; only the process we started, by its pid."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def cpu_seconds(pid: int) -> float:
    """User and system CPU the process used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


async def wait_until_up(client: httpx.AsyncClient, process: subprocess.Popen[bytes]) -> float:
    """Poll the health check until it answers 200; returns the seconds it took."""
    started = time.perf_counter()
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the service exited with code {process.returncode}")
        with contextlib.suppress(httpx.TransportError):
            if (await client.get(HEALTH, timeout=5)).status_code == 200:
                return time.perf_counter() - started
        if time.perf_counter() - started > 600:
            raise RuntimeError("the service was not up after 600 s")
        await asyncio.sleep(0.25)


async def wait_until_idle(pid: int, limit: float = 120.0) -> float:
    """Wait until the service uses under a tenth of a core (its case file is scored in the
    background after start); returns the seconds waited."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        before = cpu_seconds(pid)
        await asyncio.sleep(1.0)
        if cpu_seconds(pid) - before < 0.1:
            break
    return time.perf_counter() - started


async def sign_in(client: httpx.AsyncClient) -> str:
    """Sign in through the form like a browser; returns the session's CSRF token."""
    form = await client.get("/console/login")
    signed = await client.post(
        "/console/login", data={"csrf": csrf_of(form.text), "token": ADMIN_TOKEN}
    )
    if signed.status_code != 303:
        raise SystemExit(f"sign-in failed: {signed.status_code} {signed.text[:200]}")
    # Not the questions page: its first load is measured.
    return csrf_of((await client.get("/console/settings")).text)


def csrf_of(page: str) -> str:
    """The CSRF token a console page carries."""
    found = re.search(r'name="csrf-token" content="([^"]+)"', page)
    if found is None:
        raise SystemExit("no CSRF token on the page")
    return found.group(1)


# --- measuring --------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (NaN for no values)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def timed(request: Awaitable[httpx.Response], what: str) -> tuple[float, httpx.Response]:
    """Milliseconds from sending to the whole answer read."""
    started = time.perf_counter()
    response = await request
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{what}: {response.status_code} {response.text[:200]}")
    return elapsed, response


@contextlib.asynccontextmanager
async def probing_health(
    client: httpx.AsyncClient, every: float = 0.01
) -> AsyncIterator[list[float]]:
    """Probe the health check every `every` seconds while the block runs; yields the
    latencies (ms), filled as they come."""
    latencies: list[float] = []

    async def probe() -> None:
        while True:
            elapsed, _ = await timed(client.get(HEALTH), HEALTH)
            latencies.append(elapsed)
            await asyncio.sleep(every)

    task = asyncio.create_task(probe())
    try:
        yield latencies
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def report(label: str, page: list[float], health: list[float], cpu: float) -> None:
    """One phase's line: the page's p50/p95 and the health check's p50/p99 (ms), and the CPU
    the web process used meanwhile (s): the machine may be shared, the CPU says what was ours."""
    print(
        f"{label:<30} page n={len(page):<3} p50 {percentile(page, 0.5):6.0f}"
        f" p95 {percentile(page, 0.95):6.0f} | health n={len(health):<5}"
        f" p50 {percentile(health, 0.5):5.1f} p99 {percentile(health, 0.99):6.1f}"
        f" max {max(health, default=math.nan):6.0f} | web CPU {cpu:5.1f} s",
        flush=True,
    )


def totals(page: str) -> str:
    """The page's «N групп, M вопросов» as figures."""
    found = re.search(r"(\d+) групп\w*, (\d+) вопрос\w*\.", page)
    return f"{found.group(1)} groups, {found.group(2)} questions" if found else "no groups"


async def repeatedly(action: Callable[[], Awaitable[None]], every: float, until: float) -> None:
    """Run `action` every `every` seconds until the monotonic clock passes `until`."""
    while time.monotonic() < until:
        started = time.monotonic()
        await action()
        await asyncio.sleep(max(0.0, every - (time.monotonic() - started)))


class Phase:
    """The web process's CPU seconds over one phase."""

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self._start = cpu_seconds(pid)

    @property
    def cpu(self) -> float:
        """CPU seconds since the phase began."""
        return cpu_seconds(self._pid) - self._start


async def measure(
    client: httpx.AsyncClient, args: argparse.Namespace, pid: int, rng: random.Random
) -> None:
    """Every phase against the running service (`pid`), each printed as it ends."""
    csrf = await sign_in(client)
    base = wordings(random.Random(5))

    # What the machine itself gives: the health check with nothing else asked of the service.
    phase = Phase(pid)
    async with probing_health(client) as health:
        await asyncio.sleep(5)
    report("idle (baseline)", [], health, phase.cpu)

    phase = Phase(pid)
    async with probing_health(client) as health:
        first, answer = await timed(client.get(PAGE, timeout=3600), PAGE)
    print(f"first read, collecting and grouping all: {first / 1000:.1f} s; {totals(answer.text)}")
    report("  meanwhile", [first], health, phase.cpu)

    phase = Phase(pid)
    page = [(await timed(client.get(PAGE), PAGE))[0] for _ in range(args.loads)]
    report("quiet, first page", page, [], phase.cpu)
    phase = Phase(pid)
    deeper = [(await timed(client.get(PAGE + "?page=5"), PAGE))[0] for _ in range(args.loads)]
    report("quiet, page 5", deeper, [], phase.cpu)

    asked = 0

    async def ask() -> None:
        nonlocal asked
        visitor = Visitor.new()
        body = build_webhook_body(visitor, visitor_question(base, rng), 1)
        if (await client.post(WEBHOOK_PATH, json=body)).status_code != 200:
            raise SystemExit("the webhook refused a visitor's message")
        asked += 1

    loads: list[float] = []

    async def load() -> None:
        loads.append((await timed(client.get(PAGE), PAGE))[0])

    before = totals((await client.get(PAGE)).text)
    phase = Phase(pid)
    until = time.monotonic() + args.seconds
    async with probing_health(client) as health:
        await asyncio.gather(repeatedly(ask, 1 / args.rate, until), repeatedly(load, 0.5, until))
    report(f"collecting ({asked} visitors)", loads, health, phase.cpu)
    await asyncio.sleep(3)  # the last turns end
    print(f"  before: {before}; after: {totals((await client.get(PAGE)).text)}")

    # Each regrouping: the button, the page its redirect shows, then the status the page asks
    # for until it is done; the health check is probed only meanwhile.
    regroup_loads: list[float] = []
    took: list[float] = []
    health: list[float] = []
    phase = Phase(pid)
    for _ in range(args.regroups):
        started = time.monotonic()
        async with probing_health(client) as probed:
            pressed = await client.post(PAGE + "/regroup", data={"csrf": csrf})
            if pressed.status_code != 303:
                raise SystemExit(f"regroup: {pressed.status_code} {pressed.text[:200]}")
            regroup_loads.append((await timed(client.get(PAGE), PAGE))[0])
            while True:
                status = (await client.get(PAGE + "/regroup")).text
                if 'data-testid="questions-regrouping"' not in status:
                    break
                if time.monotonic() - started > 3600:
                    raise SystemExit("the regrouping did not end within an hour")
                await asyncio.sleep(0.1)
        took.append(time.monotonic() - started)
        health.extend(probed)
    report(f"regrouping x{args.regroups}", regroup_loads, health, phase.cpu)
    done = re.search(r'data-testid="questions-regrouped">([^<]+)<', status)
    print(
        f"  each took {', '.join(f'{t:.1f}' for t in took)} s: {done.group(1) if done else '?'}"
        f" {totals((await client.get(PAGE)).text)}"
    )


async def main() -> None:
    """Seed, start the service, measure, stop it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--embedder", choices=["local", "none"], default="local")
    parser.add_argument("--loads", type=int, default=50, help="Quiet loads of the page.")
    parser.add_argument("--seconds", type=float, default=20.0, help="Collecting phase.")
    parser.add_argument("--rate", type=float, default=2.0, help="New visitors a second.")
    parser.add_argument("--regroups", type=int, default=5, help="Regroupings in a row.")
    parser.add_argument("--quick", action="store_true", help="2,000 questions, 20 loads, 10 s.")
    args = parser.parse_args()
    if args.quick:
        args.questions, args.loads, args.seconds = 2_000, 20, 10.0
    rng = random.Random(11)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        data_dir = work / "data"
        data_dir.mkdir(mode=0o700)
        url = f"sqlite+aiosqlite:///{data_dir / 'talkme.sqlite3'}"
        distinct = await seed(url, args.questions, rng, wordings(random.Random(5)))
        print(
            f"open questions: {args.questions} asked in {distinct} different wordings, "
            f"EMBEDDER={args.embedder}, SQLite; {os.cpu_count()} cores, load average "
            f"{os.getloadavg()[0]:.1f} before the start",
            flush=True,
        )
        port = free_port()
        logs = [work / "web.log", work / "worker.log"]
        web = start_service(
            ["serve", "--no-workers", "--port", str(port)],
            data_dir,
            port,
            args.embedder,
            logs[0],
            work,
        )
        worker: subprocess.Popen[bytes] | None = None
        try:
            base = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(base_url=base, timeout=60) as client:
                up = await wait_until_up(client, web)
                worker = start_service(["worker"], data_dir, port, args.embedder, logs[1], work)
                idle = await wait_until_idle(web.pid) + await wait_until_idle(worker.pid)
                print(f"web process up in {up:.1f} s, both idle {idle:.1f} s later", flush=True)
                await measure(client, args, web.pid, rng)
        finally:
            for process in (worker, web):
                if process is not None:
                    stop(process)
            for log_path in logs:
                problems = [
                    line
                    for line in log_path.read_text(errors="replace").splitlines()
                    if '"ERROR"' in line or "Traceback" in line
                ]
                if problems:
                    print(f"{log_path.stem} logged {len(problems)} errors: {problems[0][:300]}")


if __name__ == "__main__":
    asyncio.run(main())
