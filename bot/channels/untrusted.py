"""Reading what strangers send: JSON with bounded nesting, and secrets compared whatever their text.

Both channels take request bodies and tokens from anybody on the internet; an input the standard
library chokes on must end as the endpoint's normal refusal, never as a server error.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

# Requests and Telegram updates nest a few levels; 64 is far above any real one and far below the
# depth at which json (and whatever walks the result afterwards) runs out of stack.
MAX_JSON_DEPTH = 64


class JSONTooDeep(ValueError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"JSON nested more than {limit} levels")
        self.limit = limit


def parse_json(raw: bytes | str, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """json.loads for untrusted input: ValueError (JSONTooDeep past `max_depth` levels) for anything
    it refuses. json.loads alone raises RecursionError on deep nesting, which is not a ValueError."""
    if isinstance(raw, bytes):
        # What json.loads does with bytes: UTF-8, or UTF-16/32 told by the first bytes. A charset
        # parameter is ignored, as RFC 8259 says it must be.
        raw = raw.decode(json.detect_encoding(raw), "surrogatepass")
    try:
        value = json.loads(raw)
    except RecursionError:
        # The C scanner counts its own depth and gives up cleanly, long before the stack is at risk.
        raise JSONTooDeep(max_depth) from None
    _check_depth(value, max_depth)
    return value


def _check_depth(value: Any, max_depth: int) -> None:
    # Walked with an explicit stack, in time linear in the value's size: a scan of the raw text for
    # brackets outside strings would have to follow escapes, which a regular expression does in
    # quadratic time on a body of unterminated escaped quotes.
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > max_depth:
            raise JSONTooDeep(max_depth)
        stack.extend((child, depth + 1) for child in children)


def same_secret(given: str | bytes, expected: str | bytes) -> bool:
    """Constant-time equality for tokens, signatures and secrets from outside. hmac.compare_digest
    raises TypeError for str with non-ASCII characters, and plain str.encode() raises for the lone
    surrogates that stand for undecodable header bytes (aiohttp) or come from JSON's \\ud800 escapes:
    surrogatepass turns any str into bytes, so a stranger's value is merely unequal."""
    return hmac.compare_digest(_as_bytes(given), _as_bytes(expected))


def _as_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogatepass")
