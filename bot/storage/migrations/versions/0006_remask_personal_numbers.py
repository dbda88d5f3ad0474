"""Re-mask personal numbers in text recorded before the masker read every form.

Until now ID-card numbers with spaces, full-width digits, a wrong check digit or 15 digits, mobiles
with dots or full-width digits, and bank-card numbers were stored as written; and a question was cut
to its limit before it was masked, which could leave the first digits of a number at the cut. This
revision masks what is already stored, the way new text is masked now (bot.core.privacy):

- consultations.text_masked and knowledge_gaps.text_masked (residents' questions);
- drafts not yet approved: question, answer and title, copied from a ticket (approved drafts are
  knowledge an admin wrote and approved: they stay as they are);
- the question carried in outbox payloads (ticket posts, alarms, answers).

Text that filled its limit was cut there, so a run of seven or more digits at its very end is a
number cut short and is masked too (`remask_stored`). The data step reads every row once, in key
order and batches, and writes only rows whose text changes; running it again changes nothing.
Offline (--sql) scripts carry no data step: it needs Python to read the text.

Revision ID: 0006
Revises: 0005
Create Date: 2025-04-01
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.engine import Connection

from bot.core.privacy import remask_stored

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000
# The lengths text was cut to when it was recorded (services/ask.py, services/officers.py), frozen.
QUESTION_CHARS = 2000
ANSWER_CHARS = 3500
TITLE_CHARS = 40


def upgrade() -> None:
    if op.get_context().as_sql:
        return
    connection = op.get_bind()
    remask_column(connection, "consultations", "id", "text_masked", QUESTION_CHARS)
    remask_column(connection, "knowledge_gaps", "consultation_id", "text_masked", QUESTION_CHARS)
    drafts = sa.table("drafts", *map(sa.column, ("id", "status", "question", "answer", "title")))
    _remask_rows(connection, drafts, _draft, drafts.c.status != "approved")
    _remask_rows(
        connection,
        sa.table("outbox", sa.column("id"), sa.column("payload", sa.JSON())),
        _payload,
    )


def downgrade() -> None:
    # Masking cannot be undone; the earlier revisions read masked text as they read any text.
    pass


def remask_column(connection: Connection, table: str, key: str, column: str, limit: int) -> None:
    def remask(row: dict[str, Any]) -> dict[str, Any]:
        text = row[column]
        return {} if text is None else {column: remask_stored(text, limit)}

    _remask_rows(connection, sa.table(table, sa.column(key), sa.column(column)), remask, key=key)


def _draft(row: dict[str, Any]) -> dict[str, Any]:
    question = remask_stored(row["question"], QUESTION_CHARS)
    # An unedited title is the question's first 40 characters: taken again from the masked question,
    # it cannot keep the first digits of a number the old cut ran through.
    if row["title"] == row["question"][:TITLE_CHARS]:
        title = question[:TITLE_CHARS]
    else:
        title = remask_stored(row["title"], TITLE_CHARS)
    return {"question": question, "answer": remask_stored(row["answer"], ANSWER_CHARS), "title": title}


def _payload(row: dict[str, Any]) -> dict[str, Any]:
    payload = row["payload"]
    if not isinstance(payload, dict) or not isinstance(payload.get("question"), str):
        return {}
    return {"payload": payload | {"question": remask_stored(payload["question"], QUESTION_CHARS)}}


def _remask_rows(
    connection: Connection,
    table: sa.TableClause,
    remask: Callable[[dict[str, Any]], dict[str, Any]],
    *where: Any,
    key: str = "id",
) -> None:
    """Read `table` in key order, BATCH rows at a time (keyset: no OFFSET rescans), and write back the
    columns `remask` returns for a row when they differ from what is stored."""
    pk = table.c[key]
    last = None
    while True:
        statement = sa.select(table).where(*where).order_by(pk).limit(BATCH)
        if last is not None:
            statement = statement.where(pk > last)
        rows = [dict(row) for row in connection.execute(statement).mappings()]
        if not rows:
            return
        last = rows[-1][key]
        for row in rows:
            changed = {name: value for name, value in remask(row).items() if value != row[name]}
            if changed:
                connection.execute(sa.update(table).where(pk == row[key]).values(**changed))
