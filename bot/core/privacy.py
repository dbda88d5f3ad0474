"""Masking personal numbers before anything is stored or logged.

Residents paste their ID-card and phone numbers into questions. We keep the question, not the number.
"""

from __future__ import annotations

import re

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

# 18-digit resident ID: 6-digit area, 8-digit birth date, 3-digit sequence, check digit (0-9 or X).
# Only digits bound it: "ID11010519491231002X" or "身份证号:110…" must be caught as well.
_ID_RE = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
# Mainland mobile numbers, optionally with +86/86 and separators between the 3-4-4 groups.
_MOBILE_RE = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?1[3-9]\d[\s-]?\d{4}[\s-]?\d{4}(?!\d)")


def id_checksum_ok(number: str) -> bool:
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


def _mask_id(match: re.Match[str]) -> str:
    number = match.group(0)
    if not id_checksum_ok(number):
        return number
    return number[:3] + "*" * 11 + number[-4:]


def _mask_mobile(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))[-11:]
    return digits[:3] + "****" + digits[-4:]


def mask_personal_numbers(text: str) -> str:
    """ID-card numbers with a valid checksum and mobile numbers become partly starred."""
    text = _ID_RE.sub(_mask_id, text)
    return _MOBILE_RE.sub(_mask_mobile, text)
