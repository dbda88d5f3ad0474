"""Settings, read once by the composition root from the environment and `.env`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///data/policebot.db",
        description="SQLAlchemy async URL; PostgreSQL: postgresql+asyncpg://user@host:5432/db",
    )
    knowledge_dir: Path = Field(default_factory=lambda: _default_knowledge_dir())
    data_dir: Path = Path("data")

    # Matcher bands on the 0-100 confidence; unset means the matcher's own defaults (core.matcher.Thresholds).
    # At or above the answer threshold with a clear lead: answer. At or above clarify: offer candidates.
    # Below: hand the question to the community's officers.
    match_answer_threshold: float | None = Field(default=None, ge=0, le=100)
    match_clarify_threshold: float | None = Field(default=None, ge=0, le=100)
    match_answer_margin: float | None = Field(default=None, ge=0, le=100)

    # 限时办结: an escalated question is promised an answer within this many working days.
    service_working_days: int = Field(default=1, ge=0, le=30)
    timezone: str = "Asia/Shanghai"


def _default_knowledge_dir() -> Path:
    """knowledge/ in the working directory, else the one shipped beside the package (editable installs)."""
    local = Path("knowledge")
    if local.is_dir():
        return local
    return Path(__file__).resolve().parent.parent / "knowledge"
