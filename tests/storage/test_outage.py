"""Which failures are a dependency's outage (503, come back later) and which are bugs (500)."""

import redis.exceptions
from sqlalchemy import exc as sa

from bot.adapters.outage import is_outage


def test_outages() -> None:
    assert is_outage(sa.OperationalError("SELECT 1", {}, Exception("database is locked")))
    assert is_outage(sa.TimeoutError("QueuePool limit reached"))
    assert is_outage(TimeoutError())
    assert is_outage(ConnectionRefusedError(111, "refused"))
    assert is_outage(redis.exceptions.ConnectionError("down"))
    try:
        try:
            raise TimeoutError
        except TimeoutError as cause:
            raise RuntimeError("while recording the question") from cause
    except RuntimeError as wrapped:
        assert is_outage(wrapped)  # what caused it counts


def test_bugs_are_not_outages() -> None:
    assert not is_outage(ValueError("bad"))
    assert not is_outage(KeyError("entry"))
    assert not is_outage(sa.IntegrityError("INSERT", {}, Exception("duplicate key")))
    assert not is_outage(sa.ProgrammingError("SELECT", {}, Exception("syntax error")))
