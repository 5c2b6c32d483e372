"""Run every benchmark in ``bench/`` one after another and print each one's output.

Every ``bench/*.py`` except this file (and ``_``-prefixed helpers) is a benchmark: a script that
prints figures and asserts nothing. Each runs in its own process with this interpreter, from the
repository root, its output streamed as it comes. By default a benchmark that accepts ``--quick``
(found by reading its ``--help``) gets it, so the whole suite stays a few minutes long; ``--full``
runs them with their own defaults instead.

Exit code: 0 unless a benchmark crashed (non-zero exit or killed) or overran ``--timeout``.

    .venv/bin/python bench/run_all.py              # every benchmark, --quick where supported
    .venv/bin/python bench/run_all.py --full       # their full default sizes
    .venv/bin/python bench/run_all.py --only service_bench
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent


@dataclass
class Outcome:
    """How one benchmark ended."""

    name: str
    seconds: float
    returncode: int | None
    timed_out: bool = False

    @property
    def crashed(self) -> bool:
        return self.timed_out or self.returncode != 0


# Scripts in bench/ that are not benchmarks: they make documentation, not figures.
NOT_BENCHMARKS = {"console_screenshots.py"}


def benchmarks(only: Sequence[str]) -> list[Path]:
    """The benchmark scripts, by name; ``only`` keeps those whose stem is listed."""
    found = sorted(
        path
        for path in BENCH_DIR.glob("*.py")
        if path.name != Path(__file__).name
        and not path.name.startswith("_")
        and path.name not in NOT_BENCHMARKS
    )
    if only:
        found = [path for path in found if path.stem in only or path.name in only]
    return found


def supports_quick(script: Path) -> bool:
    """True when the script's ``--help`` mentions ``--quick``."""
    try:
        result = subprocess.run(
            [sys.executable, str(script), "--help"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0 and "--quick" in result.stdout


def stop(process: subprocess.Popen[bytes]) -> None:
    """Ask politely (SIGINT lets the benchmark clean up its own subprocesses), then insist."""
    for sig, grace in ((signal.SIGINT, 60.0), (signal.SIGTERM, 15.0)):
        if process.poll() is not None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue
    process.kill()
    process.wait()


def run(script: Path, quick: bool, timeout: float) -> Outcome:
    """Run one benchmark with its output going straight to ours."""
    command = [sys.executable, str(script)]
    if quick and supports_quick(script):
        command.append("--quick")
    shown = " ".join([".venv/bin/python" if c == sys.executable else c for c in command])
    print(f"\n{'=' * 100}\n$ {shown}\n{'=' * 100}", flush=True)
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT)
    try:
        returncode: int | None = process.wait(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        print(f"\n!! {script.name} ran past {timeout:.0f} s; stopping it", flush=True)
        stop(process)
        returncode, timed_out = process.returncode, True
    except KeyboardInterrupt:
        stop(process)
        raise
    return Outcome(script.stem, time.perf_counter() - started, returncode, timed_out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--full", action="store_true", help="do not pass --quick to the benchmarks")
    parser.add_argument("--only", nargs="*", default=[], help="benchmark names to run")
    parser.add_argument(
        "--timeout", type=float, default=3600.0, help="seconds allowed per benchmark (3600)"
    )
    args = parser.parse_args(argv)

    scripts = benchmarks(args.only)
    if not scripts:
        print("no benchmarks found", file=sys.stderr)
        return 1
    outcomes = [run(script, not args.full, args.timeout) for script in scripts]

    print(f"\n{'=' * 100}\nsummary")
    for outcome in outcomes:
        if outcome.timed_out:
            status = "TIMED OUT"
        elif outcome.returncode == 0:
            status = "ok"
        else:
            status = f"CRASHED (exit {outcome.returncode})"
        print(f"  {outcome.name:<28} {status:<22} {outcome.seconds:7.1f} s")
    return 1 if any(outcome.crashed for outcome in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
