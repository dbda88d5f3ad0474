"""Revision 0006 re-masks personal numbers recorded before every form was masked: on SQLite and on
PostgreSQL, leaving what officers need and approved knowledge alone, and changing nothing when run
again."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from bot.storage import create_engine, current_revision, downgrade, upgrade
from bot.storage.types import UtcDateTime
from tests.privacy_checks import luhn_complete, survivors

AT = datetime(2024, 3, 1, 8, tzinfo=UTC)
CARD_19 = luhn_complete("622202123456789012")
CARD_WRITTEN = " ".join(CARD_19[i : i + 4] for i in range(0, 19, 4))

# Stored by the masker of 0005, which missed these forms: (digits, text).
MISSED = {
    1: ("13812345678", "路灯坏了，电话１３８１２３４５６７８"),
    2: ("510107200102290333", "身份证510107 20010229 0333丢了"),
    3: ("17755554444", "请回电177.5555.4444"),
    4: (CARD_19, f"骗子让我往{CARD_WRITTEN}转账"),
    5: ("110105194912310021", "身份证110105194912310021（校验位写错了）"),
}
CUT = "啊" * 1990 + "5101072001"  # an ID cut by the 2,000-character limit, then masked: missed
KEPT = {
    6: "车牌桂B12345，打0772-1234567，2024-01-15，工单WJ000123，损失13,800元",
    7: "孩子出生怎么上户口？电话138****5678",
    8: "孩子出生怎么上户口？电话1**********",
}
ANSWER = "已核实身份证510107200102290333，请回电0772-1234567"
DRAFT_QUESTION = "啊" * 35 + "13812345678，怎么办"
APPROVED_ANSWER = "请打社区民警李警官手机13907721234"  # knowledge an admin approved: stays

_T = {
    "communities": sa.table("communities", *map(sa.column, ("slug", "name", "district", "sample"))),
    "residents": sa.table(
        "residents",
        *map(sa.column, ("id", "channel", "channel_user_id", "language", "blocked")),
        sa.column("created_at", UtcDateTime()),
        sa.column("updated_at", UtcDateTime()),
    ),
    "staff": sa.table(
        "staff", *map(sa.column, ("id", "name", "role", "active")), sa.column("created_at", UtcDateTime())
    ),
    "consultations": sa.table(
        "consultations",
        *map(sa.column, ("id", "community", "resident_id", "channel", "text_masked", "outcome", "score")),
        *map(sa.column, ("urgent", "via_menu", "candidates")),
        sa.column("created_at", UtcDateTime()),
    ),
    "knowledge_gaps": sa.table(
        "knowledge_gaps",
        *map(sa.column, ("consultation_id", "outcome", "community", "text_masked")),
        sa.column("created_at", UtcDateTime()),
    ),
    "escalations": sa.table(
        "escalations",
        *map(sa.column, ("id", "consultation_id", "community", "status", "officer", "answer", "reminded")),
        sa.column("created_at", UtcDateTime()),
        sa.column("due_at", UtcDateTime()),
    ),
    "drafts": sa.table(
        "drafts",
        *map(sa.column, ("id", "question", "answer", "title", "community", "status", "created_by")),
        sa.column("created_at", UtcDateTime()),
    ),
    "outbox": sa.table(
        "outbox",
        *map(sa.column, ("id", "channel", "recipient", "kind", "status", "attempts")),
        sa.column("payload", sa.JSON()),
        sa.column("next_attempt_at", UtcDateTime()),
        sa.column("created_at", UtcDateTime()),
    ),
}


async def _seed(connection: Any) -> None:
    async def insert(table: str, *rows: dict[str, Any]) -> None:
        await connection.execute(sa.insert(_T[table]), list(rows))

    await insert("communities", {"slug": "xinhua", "name": "新华社区", "district": "东城区", "sample": False})
    await insert(
        "residents",
        {"id": 1, "channel": "web", "channel_user_id": "r1", "language": "zh", "blocked": False}
        | {"created_at": AT, "updated_at": AT},
    )
    await insert("staff", {"id": 1, "name": "李警官", "role": "officer", "active": True, "created_at": AT})
    texts = {i: text for i, (_, text) in MISSED.items()} | {9: CUT} | KEPT
    common = {"community": "xinhua", "resident_id": 1, "channel": "web", "score": 0.0}
    common |= {"urgent": False, "via_menu": False, "candidates": "", "created_at": AT}
    await insert(
        "consultations",
        *({"id": i, "text_masked": t, "outcome": "escalate"} | common for i, t in texts.items()),
    )
    await insert(
        "knowledge_gaps",
        *(
            {
                "consultation_id": i,
                "outcome": "escalate",
                "community": "xinhua",
                "text_masked": t,
                "created_at": AT,
            }
            for i, t in texts.items()
        ),
    )
    ticket = {"community": "xinhua", "status": "answered", "officer": "李警官", "reminded": 0}
    ticket |= {"created_at": AT, "due_at": AT}
    await insert(
        "escalations",
        {"id": 1, "consultation_id": 1, "answer": ANSWER} | ticket,
        {"id": 2, "consultation_id": 2, "answer": None} | ticket,
    )
    draft = {"community": "xinhua", "created_by": 1, "created_at": AT}
    await insert(
        "drafts",
        {
            "id": 1,
            "question": DRAFT_QUESTION,
            "answer": ANSWER,
            "title": DRAFT_QUESTION[:40],
            "status": "pending",
        }
        | draft,
        {
            "id": 2,
            "question": "怎么联系社区民警",
            "answer": APPROVED_ANSWER,
            "title": "联系民警",
            "status": "approved",
        }
        | draft,
    )
    message = {"channel": "web", "recipient": "r1", "status": "sent", "attempts": 1}
    message |= {"next_attempt_at": AT, "created_at": AT}
    await insert(
        "outbox",
        {"id": 1, "kind": "escalation_post", "payload": {"ticket": "WJ000001", "question": MISSED[1][1]}}
        | message,
        {"id": 2, "kind": "info", "payload": {"text": "电话13812345678"}} | message,
    )


async def _stored(engine: Any) -> dict[str, Any]:
    async with engine.connect() as connection:

        async def rows(table: str, key: str, *columns: str) -> dict[Any, tuple[Any, ...]]:
            t = _T[table]
            result = await connection.execute(
                sa.select(t.c[key], *(t.c[c] for c in columns)).order_by(t.c[key])
            )
            return {row[0]: tuple(row[1:]) for row in result}

        return {
            "consultations": await rows("consultations", "id", "text_masked"),
            "gaps": await rows("knowledge_gaps", "consultation_id", "text_masked"),
            "escalations": await rows("escalations", "id", "answer"),
            "drafts": await rows("drafts", "id", "question", "answer", "title"),
            "outbox": await rows("outbox", "id", "payload"),
        }


async def test_0006_remasks_stored_text_and_running_it_again_changes_nothing(database_url: str) -> None:
    await upgrade(database_url, "0005")
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await _seed(connection)
        await upgrade(database_url, "0006")
        stored = await _stored(engine)

        for table in ("consultations", "gaps"):
            texts = {i: text for i, (text,) in stored[table].items()}
            for i, (digits, before) in MISSED.items():
                assert not survivors(digits, texts[i]), texts[i]
                assert len(texts[i]) == len(before) and "****" in texts[i]
            assert texts[9] == "啊" * 1990 + "510*******"
            assert {i: texts[i] for i in KEPT} == KEPT
        assert stored["gaps"] == stored["consultations"]

        answer, no_answer = stored["escalations"][1][0], stored["escalations"][2][0]
        assert answer == ANSWER  # what the resident was told stays as the officer wrote it
        assert no_answer is None

        question, draft_answer, title = stored["drafts"][1]
        assert not survivors("13812345678", question)
        assert not survivors("510107200102290333", draft_answer) and "0772-1234567" in draft_answer
        assert title == "啊" * 35 + "138**"  # the old title kept the cut number's first five digits
        assert stored["drafts"][2] == ("怎么联系社区民警", APPROVED_ANSWER, "联系民警")

        post, info = stored["outbox"][1][0], stored["outbox"][2][0]
        assert post["ticket"] == "WJ000001" and post["question"] == stored["consultations"][1][0]
        assert info == {"text": "电话13812345678"}  # no question in it: not a resident's copy

        await downgrade(database_url, "0005")
        await upgrade(database_url, "0006")
        assert await current_revision(database_url) == "0006"
        assert await _stored(engine) == stored
    finally:
        await engine.dispose()


async def test_0006_on_an_empty_database_is_a_no_op(database_url: str) -> None:
    await upgrade(database_url, "0006")
    engine = create_engine(database_url)
    try:
        assert await _stored(engine) == {
            "consultations": {},
            "gaps": {},
            "escalations": {},
            "drafts": {},
            "outbox": {},
        }
    finally:
        await engine.dispose()
