"""Conversations: follow-ups, the part asked for, several questions in one message, "did you mean" by words.

    python benchmarks/conversation.py [--dialogues FILE] [--misses]

Each dialogue of benchmarks/data/dialogues.jsonl is played through the ask service (the same one every
channel uses) as one resident's conversation, on a throwaway SQLite database, with a clock that moves
one minute per turn (or `after_minutes`). A turn is right when the reply is what a careful officer at
the window would give (see the expectations in the file's README); a message with several questions is
right when every part is. Printed: the share of turns right, overall and per kind of dialogue, and the
share right when only the entry is judged (not the part asked for or where the entry came from).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import ROOT

from bot.core.models import Channel, Outcome, ResidentRef
from bot.core.replies import Reply

DIALOGUES = ROOT / "benchmarks" / "data" / "dialogues.jsonl"


class MovingClock:
    def __init__(self) -> None:
        self.at = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Shanghai

    def now(self) -> datetime:
        return self.at


def judge(expect: dict, reply: Reply, previous: Reply | None, strict: bool) -> bool:
    if "parts" in expect:
        parts = reply.parts or (reply,)
        return len(parts) == len(expect["parts"]) and all(
            judge(e, p, None, strict) for e, p in zip(expect["parts"], parts, strict=True)
        )
    outcome = expect["outcome"]
    if outcome == "answer":
        if reply.outcome is not Outcome.ANSWER or reply.entry_id != expect["entry"]:
            return False
        if strict and "field" in expect and reply.field != expect["field"]:
            return False
        return not (strict and "from_context" in expect and reply.from_context != expect["from_context"])
    if outcome == "not_answer":
        return reply.outcome is not Outcome.ANSWER
    if outcome == "clarify":
        return reply.outcome is Outcome.CLARIFY
    if outcome in ("escalate", "escalate_or_referral"):
        return reply.outcome is Outcome.ESCALATE
    if outcome == "pick":
        if reply.outcome is not Outcome.ANSWER:
            return False
        if "entry" in expect:
            return reply.entry_id == expect["entry"]
        if previous is None or previous.outcome is not Outcome.CLARIFY:
            return False
        n = int(expect["ordinal"])
        return n <= len(previous.choices) and reply.entry_id == previous.choices[n - 1].entry_id
    raise ValueError(f"unknown expectation {expect!r}")


async def play(dialogues: list[dict], show_misses: bool) -> None:
    from bot.settings import Settings
    from bot.wiring import build_container

    clock = MovingClock()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{tmp}/conversation.db",
            data_dir=ROOT / "data",
            redis_url=None,
        )
        container = await build_container(settings, clock=clock)
        right: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # strict, entry-only, turns
        try:
            for d in dialogues:
                resident = ResidentRef(Channel.CLI, f"bench-{d['id']}")
                previous: Reply | None = None
                for n, turn in enumerate(d["turns"]):
                    clock.at += timedelta(minutes=turn.get("after_minutes", 1))
                    community = d.get("community", "chengzhong-gongyuan")
                    reply = await container.ask.ask(community, resident, turn["text"], Channel.CLI, d["id"])
                    strict = judge(turn["expect"], reply, previous, strict=True)
                    loose = judge(turn["expect"], reply, previous, strict=False)
                    for key in ("ALL", d["kind"]):
                        right[key][0] += strict
                        right[key][1] += loose
                        right[key][2] += 1
                    if show_misses and not strict:
                        got = [
                            (p.outcome.value, p.entry_id, p.field, p.from_context)
                            for p in reply.parts or (reply,)
                        ]
                        shown = json.dumps(turn["expect"], ensure_ascii=False)
                        where = f"{d['id']} turn {n + 1} [{d['kind']}]"
                        print(f"MISS {where} {turn['text']!r} expect={shown} got={got}")
                    previous = reply
        finally:
            await container.close()
    print(f"dialogues: {len(dialogues)}")
    for key in ["ALL", *sorted(k for k in right if k != "ALL")]:
        strict, loose, total = right[key]
        print(f"{key:<16} turns={total:<4} right={strict / total:.3f} entry-right={loose / total:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dialogues", type=Path, default=DIALOGUES)
    parser.add_argument("--misses", action="store_true", help="list every turn handled wrong")
    args = parser.parse_args()
    with args.dialogues.open(encoding="utf-8") as f:
        dialogues = [json.loads(line) for line in f if line.strip()]
    asyncio.run(play(dialogues, args.misses))


if __name__ == "__main__":
    main()
