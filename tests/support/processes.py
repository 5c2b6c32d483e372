"""The service as real processes (`talkme-consultant serve` and `worker`), for crash and
multi-instance specs."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import httpx

from talkme_consultant.config import SAMPLE_KNOWLEDGE_DIR
from talkme_consultant.talkme.payloads import SECRET_HEADER
from talkme_consultant.talkme.visitor import Visitor, build_webhook_body, webhook_url
from tests.support.eventually import eventually
from tests.support.service import ADMIN_TOKEN

CLI = Path(sys.executable).with_name("talkme-consultant")
# Production mode refuses to start without a webhook secret; the processes here guard theirs.
WEBHOOK_SECRET = "process-webhook-secret"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_until_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    """Wait until the service at `url` answers its health check; fail with the end of its log
    as soon as the process exits."""

    async def healthy() -> bool:
        if process.poll() is not None:
            log = (await asyncio.to_thread(log_path.read_text, errors="replace"))[-2000:]
            raise RuntimeError(f"service exited with {process.returncode}:\n{log}")
        try:
            async with httpx.AsyncClient() as http:
                response = await http.get(url + "/webhook/talkme/health")
        except httpx.TransportError:
            return False
        return response.status_code == 200

    await eventually(healthy, timeout=120, interval=0.1, what="the service to be healthy")


class ServiceProcess:
    """One `serve` process with its own port, in production mode (TalkMe is `talkme_api_url`,
    the webhook needs its secret); everything it writes (JSON log lines) goes to `log_path`."""

    def __init__(
        self,
        data_dir: Path,
        talkme_api_url: str,
        log_path: Path,
        *,
        args: Sequence[str] = (),
        **env: str,
    ) -> None:
        """`args` follow `serve --port P` (e.g. `--no-workers`); `env` adds or overrides
        settings."""
        self.args = list(args)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.env = {
            **os.environ,
            "DATA_DIR": str(data_dir),
            "KNOWLEDGE_DIR": str(SAMPLE_KNOWLEDGE_DIR),
            "TALKME_API_URL": talkme_api_url,
            "TALKME_TEST_MODE": "false",
            "WEBHOOK_SECRET": WEBHOOK_SECRET,
            "ADMIN_TOKEN": ADMIN_TOKEN,
            "OUTBOX_BACKOFF_BASE_SECONDS": "0.05",
            "OUTBOX_BACKOFF_MAX_SECONDS": "0.3",
            "LOG_LEVEL": "WARNING",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def _spawn(self) -> subprocess.Popen[bytes]:
        with self.log_path.open("ab") as log:
            return subprocess.Popen(
                [str(CLI), "serve", "--port", str(self.port), *self.args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def start(self) -> None:
        """Spawn the process and wait until its health check answers 200."""
        process = self.process = self._spawn()

        await wait_until_healthy(self.url, process, self.log_path)

    @property
    def pid(self) -> int:
        """The running process's id."""
        assert self.process is not None
        return self.process.pid

    async def post_message(self, visitor: Visitor, text: str, message_id: int) -> int:
        """POST one webhook as TalkMe would; returns the status code."""
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.post(
                webhook_url(self.url),
                json=build_webhook_body(visitor, text, message_id),
                headers={SECRET_HEADER: WEBHOOK_SECRET},
            )
        return response.status_code

    async def admin_get(self, path: str) -> dict[str, object]:
        """GET an admin endpoint and return its JSON."""
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.get(
                self.url + path, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
            )
        response.raise_for_status()
        data: dict[str, object] = response.json()
        return data

    def log_text(self) -> str:
        """Everything the process logged so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        """`kill -9`."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """Terminate (SIGTERM), then kill if it does not exit."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


class WorkerProcess:
    """One `talkme-consultant worker` process (turns and the outbox, no HTTP), configured like
    `ServiceProcess`; ready once it has printed its ready line."""

    READY = "worker ready"

    def __init__(
        self,
        data_dir: Path,
        talkme_api_url: str,
        log_path: Path,
        *,
        args: Sequence[str] = (),
        **env: str,
    ) -> None:
        """`args` follow `worker`; `env` adds or overrides settings."""
        self.args = list(args)
        self.log_path = log_path
        self.env = ServiceProcess(data_dir, talkme_api_url, log_path, **env).env
        self.process: subprocess.Popen[bytes] | None = None

    def _spawn(self) -> subprocess.Popen[bytes]:
        with self.log_path.open("ab") as log:
            return subprocess.Popen(
                [str(CLI), "worker", *self.args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    async def start(self) -> None:
        """Spawn the process and wait for its ready line."""
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        process = self.process = self._spawn()

        async def ready() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"worker exited with {process.returncode}")
            with self.log_path.open("rb") as log:
                log.seek(offset)
                return self.READY.encode() in log.read()

        await eventually(ready, timeout=120, interval=0.1, what="the worker to be ready")

    def log_text(self) -> str:
        """Everything the process logged so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def kill(self) -> None:
        """`kill -9`."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """Terminate (SIGTERM), then kill if it does not exit."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
