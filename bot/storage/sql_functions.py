"""SQL expressions that need different spelling per dialect."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import FunctionElement


class utc_day(FunctionElement[str]):
    """The UTC calendar date of a UtcDateTime column as 'YYYY-MM-DD' text."""

    type = String()
    inherit_cache = True


@compiles(utc_day, "sqlite")
def _utc_day_sqlite(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite stores UtcDateTime as UTC text, so the date prefix is already the UTC day.
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(utc_day, "postgresql")
def _utc_day_postgresql(element: utc_day, compiler: SQLCompiler, **kw: Any) -> str:
    # A bare ::date would use the session's TimeZone setting; pin it to UTC.
    return f"to_char({compiler.process(element.clauses, **kw)} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"


class local_day(FunctionElement[str]):
    """The calendar date of a UtcDateTime column at a fixed offset from UTC, as 'YYYY-MM-DD' text:
    local_day(column, minutes) with `minutes` a literal_column of the offset (inline, so that the
    same expression in SELECT and GROUP BY is the same SQL text on PostgreSQL)."""

    type = String()
    inherit_cache = True


def _offset_minutes(element: local_day) -> int:
    clauses = list(element.clauses)
    return int(clauses[1].name)  # type: ignore[attr-defined]


@compiles(local_day, "sqlite")
def _local_day_sqlite(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(next(iter(element.clauses)), **kw)
    return f"date({column}, '{_offset_minutes(element):+d} minutes')"


@compiles(local_day, "postgresql")
def _local_day_postgresql(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(next(iter(element.clauses)), **kw)
    minutes = _offset_minutes(element)
    return f"to_char(({column} AT TIME ZONE 'UTC') + interval '{minutes} minutes', 'YYYY-MM-DD')"


def day_of(column: Any, offset_minutes: int) -> local_day:
    from sqlalchemy import literal_column

    return local_day(column, literal_column(str(int(offset_minutes))))
