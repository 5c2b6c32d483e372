"""Settings from the environment and `.env`.

Every variable here is documented in the README's configuration table; keep the two in step.
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent
SAMPLE_DIR = PACKAGE_DIR / "sample"
SAMPLE_KNOWLEDGE_DIR = SAMPLE_DIR / "knowledge"
SAMPLE_PROFILE_PATH = SAMPLE_DIR / "profile.yaml"
DEFAULT_PROMPTS_DIR = PACKAGE_DIR / "answer" / "prompts"
WEBHOOK_OPEN_WORD = "off"
"""``WEBHOOK_SECRET=off`` accepts anonymous webhooks on purpose; it is a switch, not a secret."""
ADMIN_TOKEN_MIN_CHARS = 24
"""The admin token signs in to everything; anything shorter is within reach of guessing."""
SHORT_ADMIN_TOKEN_MESSAGE = (
    f"ADMIN_TOKEN короче {ADMIN_TOKEN_MIN_CHARS} символов: такой токен можно подобрать. "
    "Задайте длиннее, например ADMIN_TOKEN=$(openssl rand -hex 24), или не задавайте вовсе — "
    "сервис создаст его сам в DATA_DIR/admin_token. / "
    f"ADMIN_TOKEN is shorter than {ADMIN_TOKEN_MIN_CHARS} characters, within reach of guessing. "
    "Set a longer one, e.g. ADMIN_TOKEN=$(openssl rand -hex 24), or leave it unset and the "
    "service generates one into DATA_DIR/admin_token."
)


class Settings(BaseSettings):
    """Runtime configuration. Field names map to upper-case environment variables."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
        populate_by_name=True,
        # An error names the variable and the problem, never the value: several hold secrets.
        hide_input_in_errors=True,
    )

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    data_dir: Path = Path("./data")
    database_url: str | None = None
    knowledge_dir: Path = SAMPLE_KNOWLEDGE_DIR
    profile_path: Path = SAMPLE_PROFILE_PATH
    prompts_dir: Path = DEFAULT_PROMPTS_DIR
    log_level: str = "INFO"
    # auto: readable lines when stderr is a terminal, JSON lines otherwise.
    log_format: Literal["auto", "json", "text"] = "auto"
    # The reverse proxies in front (addresses or networks, comma-separated): only their
    # X-Forwarded-For and X-Forwarded-Proto are believed. Empty: nobody's are, and the address
    # the connection comes from is the client's (uvicorn alone would believe the loopback).
    trusted_proxies: str = ""

    talkme_api_url: str = "https://lcab.talk-me.ru/json/v1.0"
    talkme_test_mode: bool = True
    talkme_timeout_seconds: float = Field(default=10.0, gt=0)
    # The account API (owner's cabinet key): operator presence, client cards, operator answers.
    # Without the key the bot hands over as before and harvests nothing.
    talkme_account_api_key: SecretStr | None = None
    # Both of TalkMe's APIs live under one base: unset, the account API follows TALKME_API_URL,
    # so pointing the service at a proxy or a stand-in moves both.
    talkme_account_api_url: str | None = None
    # How long "is anyone online" is believed, and how long a turn waits for the answer.
    operators_cache_seconds: float = Field(default=30.0, ge=0)
    operators_timeout_seconds: float = Field(default=3.0, gt=0)
    # How often handed-over dialogues are read for the operator's answers.
    harvest_interval_seconds: float = Field(default=60.0, gt=0)
    webhook_secret: SecretStr | None = None
    admin_token: SecretStr | None = None

    debounce_seconds: float = Field(default=1.5, ge=0)
    # A message that reads as a whole question waits only this long (never longer than above).
    debounce_question_seconds: float = Field(default=0.3, ge=0)
    typing_ttl_seconds: int = Field(default=5, ge=1, le=60)
    max_message_chars: int = Field(default=4000, ge=200)
    # Cost bounds of one conversation: the visitor's text per turn (its end is kept), the
    # history sent with each model call (estimated tokens), model tokens per local day (0 = no cap).
    max_turn_chars: int = Field(default=3000, ge=100)
    history_token_budget: int = Field(default=1500, ge=50)
    conversation_daily_tokens: int = Field(default=60000, ge=0)
    outbox_max_attempts: int = Field(default=8, ge=1)
    outbox_backoff_base_seconds: float = Field(default=0.5, gt=0)
    outbox_backoff_max_seconds: float = Field(default=60.0, gt=0)
    workers: int = Field(default=8, ge=1, le=256)
    lease_seconds: float = Field(default=60.0, gt=0)
    # A turn that keeps failing is retried with a growing delay, then handed to an operator.
    turn_max_attempts: int = Field(default=3, ge=1, le=20)
    turn_retry_base_seconds: float = Field(default=2.0, gt=0)
    instance_id: str | None = None
    # Connections each process keeps to PostgreSQL (and may open beyond that under load).
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=10, ge=0, le=200)
    # How often a worker looks for new messages when no wake-up can reach it from another
    # process (SQLite; on PostgreSQL, while the LISTEN connection is down).
    worker_poll_seconds: float = Field(default=0.25, gt=0, le=60)
    # A `worker` process lowers its CPU priority by this much (0 keeps it): where web and worker
    # processes share cores, a webhook's acknowledgement comes before an answer's composition.
    worker_nice: int = Field(default=10, ge=0, le=19)

    # TalkMe finish codes, mapped to actions in the business's bot scenario; empty = never sent.
    finish_code_operator: str = "OPERATOR_REQUEST"
    finish_code_success: str = "SUCCESS"
    finish_code_irrelevant: str = "IRRELEVANT_MESSAGE"
    # Nobody was online to take the dialogue; the visitor left a phone for a call-back.
    finish_code_offline: str = "OPERATORS_OFFLINE"

    # YCLIENTS online booking (booking/): without the partner token and the company id a booking
    # intent becomes a lead with the wished time. The tokens are never logged or shown.
    yclients_partner_token: SecretStr | None = None
    yclients_user_token: SecretStr | None = None
    yclients_company_id: int | None = Field(default=None, ge=1)
    yclients_api_url: str = "https://api.yclients.com/api/v1"
    # A visitor waits in a chat: a calendar call gets this long, and a calendar that failed
    # this many calls in a row is not asked again for `yclients_cooldown_seconds`.
    yclients_timeout_seconds: float = Field(default=4.0, gt=0)
    yclients_failures_to_open: int = Field(default=1, ge=1)
    yclients_cooldown_seconds: float = Field(default=30.0, gt=0)

    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    # A visitor is waiting in a chat: a slow model should fall back rather than keep them waiting.
    llm_timeout_seconds: float = Field(default=15.0, gt=0)
    llm_max_retries: int = Field(default=2, ge=0, le=10)
    llm_prices: str = ""

    embedder: str = "local"
    embeddings_base_url: str | None = None
    embeddings_model: str = "text-embedding-3-small"
    embeddings_api_key: SecretStr | None = None

    upload_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    # The whole multipart request (all files and their headers), checked before and while reading.
    upload_max_request_bytes: int = Field(default=100 * 1024 * 1024, ge=4096)
    upload_max_files: int = Field(default=20, ge=1, le=1000)
    # Every request's body, whatever its route, refused from its declared length before it is
    # read (web/body_gate.py). It must leave room for the uploads' own limit, which is checked
    # against the same body and names what was too large; and never below the webhook's 64 KiB,
    # which its route answers itself.
    max_request_bytes: int = Field(default=128 * 1024 * 1024, ge=64 * 1024)
    # Knowledge files are read in a child process that the kernel holds to these limits.
    parse_memory_mb: int = Field(default=1024, ge=256)
    parse_timeout_seconds: float = Field(default=60.0, gt=0)
    parse_max_cells: int = Field(default=1_000_000, ge=1)
    parse_max_merged_cells: int = Field(default=1_000_000, ge=1)
    parse_max_pdf_pages: int = Field(default=2_000, ge=1)
    parse_max_unzipped_bytes: int = Field(default=200 * 1024 * 1024, ge=1024 * 1024)
    parse_max_compression_ratio: int = Field(default=200, ge=10)
    confidence_threshold: float = Field(default=0.5, ge=0, le=1)
    # With the business's cases.jsonl in the knowledge base, the answer threshold is the lowest
    # confidence at which this share of the cases' first records is right.
    answer_precision_target: float = Field(default=0.9, gt=0, le=1)

    @field_validator(
        "talkme_api_url",
        "talkme_account_api_url",
        "openai_base_url",
        "embeddings_base_url",
        "yclients_api_url",
    )
    @classmethod
    def _strip_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @field_validator(
        "finish_code_operator",
        "finish_code_success",
        "finish_code_irrelevant",
        "finish_code_offline",
    )
    @classmethod
    def _strip_code(cls, value: str) -> str:
        # An empty code switches that finish off.
        return value.strip()

    @model_validator(mode="after")
    def _request_limit_holds_an_upload(self) -> Settings:
        if self.max_request_bytes < self.upload_max_request_bytes:
            raise ValueError(
                f"MAX_REQUEST_BYTES ({self.max_request_bytes}) is below "
                f"UPLOAD_MAX_REQUEST_BYTES ({self.upload_max_request_bytes}): an upload within "
                "its own limit would be refused; raise MAX_REQUEST_BYTES"
            )
        return self

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_addresses(cls, value: str) -> str:
        addresses = []
        for item in (part.strip() for part in value.split(",")):
            if not item:
                continue
            try:
                network = ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"TRUSTED_PROXIES: «{item}» is not an IP address or network "
                    "(e.g. 127.0.0.1, ::1, 10.0.0.0/8)"
                ) from None
            # uvicorn takes a network only in its exact form, and anything else as a name.
            addresses.append(str(network) if "/" in item else str(network.network_address))
        return ",".join(addresses)

    @field_validator("admin_token")
    @classmethod
    def _long_enough_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        token = value.get_secret_value().strip()
        if not token:
            # Blank is unset: the service generates a token into DATA_DIR.
            return None
        if len(token) < ADMIN_TOKEN_MIN_CHARS:
            raise ValueError(SHORT_ADMIN_TOKEN_MESSAGE)
        return SecretStr(token)

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file inside DATA_DIR."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'talkme.sqlite3').resolve()}"

    @property
    def trusted_proxy_list(self) -> list[str]:
        """TRUSTED_PROXIES as uvicorn's `forwarded_allow_ips` takes it; empty trusts nobody."""
        return [item for item in self.trusted_proxies.split(",") if item]

    @property
    def account_api_url(self) -> str:
        """The account API's base: TALKME_ACCOUNT_API_URL, else TALKME_API_URL."""
        return self.talkme_account_api_url or self.talkme_api_url

    @property
    def instance_name(self) -> str:
        """Who holds leases in the store. Stable across restarts of the same installation, so a
        restarted instance can take back at once what its killed predecessor held; set
        INSTANCE_ID explicitly when several instances share one database from one host."""
        if self.instance_id:
            return self.instance_id
        place = hashlib.sha256(str(self.data_dir.resolve()).encode()).hexdigest()[:8]
        return f"{socket.gethostname()}-{place}"

    def secret_values(self) -> list[str]:
        """Every configured secret in clear (webhook secret, admin token, API keys), for the
        log formatter to mask wherever it appears."""
        fields = (
            self.webhook_secret,
            self.admin_token,
            self.openai_api_key,
            self.embeddings_api_key,
            self.talkme_account_api_key,
            self.yclients_partner_token,
            self.yclients_user_token,
        )
        values = [f.get_secret_value().strip() for f in fields if f is not None]
        return [v for v in values if v and v.lower() != WEBHOOK_OPEN_WORD]

    @property
    def account_api_key(self) -> str | None:
        """The account API key in clear, or None when it is not configured."""
        if self.talkme_account_api_key is None:
            return None
        return self.talkme_account_api_key.get_secret_value().strip() or None

    @property
    def booking_enabled(self) -> bool:
        """True when YCLIENTS is configured: a partner token and the company to book into."""
        token = self.yclients_partner_token
        return (
            token is not None
            and bool(token.get_secret_value().strip())
            and self.yclients_company_id is not None
        )

    @property
    def llm_enabled(self) -> bool:
        """True when a language model key is configured."""
        return self.openai_api_key is not None and bool(self.openai_api_key.get_secret_value())
