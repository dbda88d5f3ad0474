"""Shared helpers for the benchmark scripts (run from the project root)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"


def load_questions(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def expected_ids(item: dict) -> set[str] | None:
    """None for an out-of-scope question (it should be escalated)."""
    expect = item["expect"]
    if expect == "escalate":
        return None
    if isinstance(expect, dict):
        return set(expect["any_of"])
    return {expect}
