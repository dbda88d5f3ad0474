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


_PHONE_SEPARATORS_RE = re.compile(r"[\s\-.()（）]")
_CALLBACK_RE = re.compile(r"1[3-9]\d{9}|0\d{2,3}\d{7,8}")


def normalize_phone(text: str) -> str | None:
    """A mainland mobile or landline number in plain digits, or None if `text` is not one.

    Residents type full-width digits, spaces, dots, dashes and +86: all of that is folded first."""
    import unicodedata

    digits = _PHONE_SEPARATORS_RE.sub("", unicodedata.normalize("NFKC", text or ""))[:32]
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    return digits if _CALLBACK_RE.fullmatch(digits) else None


def mask_phone(phone: str | None) -> str:
    """138****5678; a landline keeps its area code and last four digits."""
    if not phone:
        return ""
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
