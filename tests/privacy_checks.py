"""What the masking tests look for in stored or exported text: digits of a personal number still
readable in a row. Shared by the core, storage, service and web tests."""

from __future__ import annotations

import re

from bot.core.privacy import luhn_ok

KEPT = 6  # the most digits of a number the mask keeps together (a bank card's issuer)
# Full-width ASCII folded, so that "１３８" reads as the digits it is.
_HALF_WIDTH = {c + 0xFEE0: c for c in range(0x21, 0x7F)}


def luhn_complete(body: str) -> str:
    """`body` with the check digit that makes it pass Luhn (a card number for the tests)."""
    return next(body + d for d in "0123456789" if luhn_ok(body + d))


def digit_runs(text: str) -> list[str]:
    """The digits of each run of the text; separators join a run, anything else (stars) ends it."""
    folded = text.translate(_HALF_WIDTH)
    return [re.sub(r"\D", "", r) for r in re.findall(r"\d(?:[\s\-.·。—]{0,3}\d)*", folded)]


def survivors(original: str, masked: str) -> list[str]:
    """Every run of `masked` in which more than KEPT digits of `original` are still readable in a row."""
    digits = re.sub(r"\D", "", original)
    windows = {digits[i : i + KEPT + 1] for i in range(len(digits) - KEPT)}
    return [r for r in digit_runs(masked) if any(r[i : i + KEPT + 1] in windows for i in range(len(r)))]
