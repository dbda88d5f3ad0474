"""Masking personal numbers before anything is stored or logged.

Residents paste their ID-card, phone and bank-card numbers into questions, and officers sometimes
quote them back. We keep the words, not the number. Numbers arrive in every shape a phone keyboard
makes: full-width digits, spaces, dots or dashes between the groups, +86 in front. So the text is
first folded to plain digits and separators, then read as runs of digit groups; a number may span
several groups of a run, or a run may hold several numbers side by side.

Masking never changes the length of the text, only characters inside a number: the stored text can
then be cut after masking without a cut ever exposing part of a number (`mask_and_truncate`).

What stays as written, because officers need it: licence plates, dates, amounts, ticket numbers, and
the phone numbers of offices and hotlines (landlines start with 0; 110, 12345, 96110 are short).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_checksum_ok(number: str) -> bool:
    """GB 11643's check digit. Masking does not require it: a mistyped check digit still leaves
    seventeen right digits of somebody's number."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


def luhn_ok(digits: str) -> bool:
    """The Luhn check every bank card passes; most other long numbers (orders, tickets) do not."""
    if not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


# ---- folding -------------------------------------------------------------------------------------------
# Every character that folds, folds to exactly one character: positions in the folded text are
# positions in the original, which is what lets a mask be written back in place.
_SPACES = "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63"
_DOTS = "\u00b7\u2022\u30fb\u3002\uff61"  # middle dots, bullets and the ideographic full stop (IME ".")
_FOLDABLE_RE = re.compile(
    # full-width ASCII, other spaces, dashes and dots, and decimal digits of any script but ASCII
    f"[\uff01-\uff5e{_SPACES}{_DASHES}{_DOTS}]|(?![0-9])\\d"
)


@lru_cache(maxsize=512)
def _fold_char(char: str) -> str:
    digit = unicodedata.decimal(char, None)
    if digit is not None:
        return str(digit)
    code = ord(char)
    if 0xFF01 <= code <= 0xFF5E:
        return chr(code - 0xFEE0)
    if char in _SPACES:
        return " "
    return "-" if char in _DASHES else "."


def _fold(text: str) -> str:
    return _FOLDABLE_RE.sub(lambda m: _fold_char(m.group()), text)


# ---- reading runs of digit groups ----------------------------------------------------------------------
# One to three spaces, dots or dashes may stand between the groups of one number ("138 - 1234").
_SEP = r"[\s.\-]{1,3}"
# A run: digit groups joined by separators, perhaps ending in the ID card's X (not the start of a word).
_RUN_RE = re.compile(rf"[0-9]+(?:{_SEP}[0-9]+)*(?:(?:{_SEP})?[Xx](?![A-Za-z]))?")
_GROUP_RE = re.compile(r"[0-9]+|[Xx]")
# What this module leaves behind: the kept head or tail of a masked number, touching its stars. They
# are not read again, so masking twice changes nothing (a tail must not become the head of a "new"
# number with the digits after it). A whole number touching stars ("**13812345678**") is still read.
_MASKED_HEAD_RE = re.compile(r"(?<![0-9])[0-9]{1,7}(?=\*{4})")
_MASKED_TAIL_RE = re.compile(r"(?<=\*{4})[0-9]{3}[0-9Xx](?![0-9])")
_MOBILE_RE = re.compile(r"1[3-9][0-9]{9}")
# A group that is a whole mobile number with its country code: the code starts a phone number, so the
# group is never the later part of a card or an ID pieced together from groups.
_PREFIXED_MOBILE_RE = re.compile(r"(?:0086|86)1[3-9][0-9]{9}")
_CARD_ISSUERS = "234569"  # cards start with these; a leading 0, 1, 7 or 8 is something else
_LENGTHS = frozenset({11, 13, 15, 16, 17, 18, 19})  # the lengths _hidden can accept without an X
_ANY_DIGIT_RE = re.compile(r"\d")  # decimal digits of every script, full-width ones included


@dataclass(frozen=True, slots=True)
class _Group:
    index: int  # first position in the text
    digits: str  # "" for a lone X
    x: bool  # ends with (or is) the ID card's X


@dataclass(frozen=True, slots=True)
class _Number:
    first: int  # groups first..last of the run
    last: int
    positions: tuple[int, ...]  # text position of every digit (and the X)
    hidden: range  # which of those digits become stars


def _groups(run: re.Match[str]) -> list[_Group]:
    groups: list[_Group] = []
    for g in _GROUP_RE.finditer(run.group()):
        index = run.start() + g.start()
        if g.group() in "Xx":
            if groups and groups[-1].index + len(groups[-1].digits) == index:
                groups[-1] = _Group(groups[-1].index, groups[-1].digits, True)  # "…002X"
            else:
                groups.append(_Group(index, "", True))  # "…002 X"
        else:
            groups.append(_Group(index, g.group(), False))
    return groups


def _plausible_id(digits: str) -> bool:
    """An area code (never 0…), then a birth date that could be one: 19xx/20xx (or 18xx) in the
    18-digit form, YY in the 15-digit one; month 01-12, day 01-31. The calendar is not checked: a
    mistyped date is still somebody's number."""
    if digits[0] == "0":
        return False
    if len(digits) == 15:
        month, day = digits[8:10], digits[10:12]
    else:
        if digits[6:8] not in ("18", "19", "20"):
            return False
        month, day = digits[10:12], digits[12:14]
    return 1 <= int(month) <= 12 and 1 <= int(day) <= 31


def _hidden(digits: str, x: bool, joined: bool) -> range | None:
    """Which digits of a candidate number to hide, or None when it is none of ours.

    `joined`: the digits come from several groups. Any 18 digits written together are masked;
    groups pieced together must also look like an ID (area, birth date), else two office numbers
    in a row ("0772-1234567 0772-7654321") would read as one."""
    n = len(digits)
    if x:  # the ID card's X ends the 18-digit form only
        return range(3, 14) if n == 17 and (not joined or _plausible_id(digits)) else None
    for prefix in ("", "86", "0086"):  # the country code stays readable, the mobile is masked
        p = len(prefix)
        if n == p + 11 and digits.startswith(prefix) and _MOBILE_RE.fullmatch(digits, p):
            return range(p + 3, p + 7)
    if n == 18 and (not joined or _plausible_id(digits)):
        return range(3, 14)
    # 15-digit IDs (issued until 1999) always need a plausible date: phones' IMEIs and parcel numbers
    # have 15 digits too, and officers need those as written.
    if n == 15 and _plausible_id(digits):
        return range(3, 11)
    if 16 <= n <= 19 and digits[0] in _CARD_ISSUERS and luhn_ok(digits):
        return range(6, n - 4)  # the issuer (first six) and the last four, as banks print them
    return None


def _starting_at(groups: list[_Group], first: int) -> Iterator[_Number]:
    """Every number made of groups first..last of a run."""
    digits = ""
    for last in range(first, len(groups)):
        group = groups[last]
        if last > first and _PREFIXED_MOBILE_RE.fullmatch(group.digits):
            return
        digits += group.digits
        if len(digits) > 19:
            return
        joined = last > first
        # "…002X" is an ID, or else the digits before the X are read on their own.
        hidden = _hidden(digits, True, joined) if group.x else None
        with_x = hidden is not None
        if hidden is None and group.digits and len(digits) in _LENGTHS:
            hidden = _hidden(digits, False, joined)
        if hidden is not None:
            positions = [i for g in groups[first : last + 1] for i in range(g.index, g.index + len(g.digits))]
            if with_x:
                positions.append(group.index + len(group.digits))
            yield _Number(first, last, tuple(positions), hidden)
        if group.x:
            return  # nothing follows an X


def _numbers(groups: list[_Group]) -> list[_Number]:
    """The numbers of a run that do not overlap and cover the most digits; among those, the ones
    that hide the most, then the fewest 15-digit IDs (replaced by the 18-digit form by 2013: "110
    000200101018 646 620 0000000000005" is an 18-digit ID and a card, not a 15-digit ID and a
    19-digit card), then those written whole (one group) rather than pieced together.

    Maximal cover, not first come: a run may hold several numbers side by side, and a number's own
    groups may also spell a shorter one ("110105 19491231002 X" holds the mobile-like 19491231002);
    taking the short one first would leave the rest of the ID readable."""
    # best[i]: the score of groups i.. of the run (digits covered, digits hidden, -15-digit IDs,
    # numbers written whole, -groups used), the number starting at i (None: group i is left alone)
    # and where the rest starts. Linked, not copied: a run may have thousands of groups.
    best: list[tuple[tuple[int, int, int, int, int], _Number | None, int]] = [((0, 0, 0, 0, 0), None, 0)]
    best *= len(groups) + 1
    for first in range(len(groups) - 1, -1, -1):
        choice = (best[first + 1][0], None, first + 1)
        for number in _starting_at(groups, first):
            covered, hidden, old, whole, used = best[number.last + 1][0]
            score = (
                covered + len(number.positions),
                hidden + len(number.hidden),
                old - (len(number.positions) == 15),
                whole + (number.first == number.last),
                used - (number.last - number.first + 1),
            )
            if score > choice[0]:
                choice = (score, number, number.last + 1)
        best[first] = choice
    chosen: list[_Number] = []
    i = 0
    while i < len(groups):
        _, number, i = best[i]
        if number is not None:
            chosen.append(number)
    return chosen


def _unmasked(folded: str) -> str:
    """`folded` with what an earlier masking kept of a number starred over: not to be read again."""
    readable = _MASKED_TAIL_RE.sub(lambda m: "*" * len(m.group()), folded)
    return _MASKED_HEAD_RE.sub(lambda m: "*" * len(m.group()), readable)


def _mask(text: str, before: int | None = None) -> str:
    """`text` with its personal numbers masked, considering only numbers that start before `before`."""
    if not _ANY_DIGIT_RE.search(text):  # nothing to read (the common case): no work at all
        return text
    folded = _fold(text)
    readable = _unmasked(folded)
    out: list[str] | None = None
    for run in _RUN_RE.finditer(readable):
        if before is not None and run.start() >= before:
            break
        for number in _numbers(_groups(run)):
            out = out if out is not None else list(text)
            start, end = number.positions[0], number.positions[-1] + 1
            out[start:end] = folded[start:end]  # a masked number is shown in plain digits
            # Everything between the kept head and tail becomes stars, separators included, so the
            # head and tail touch the stars and are recognised as a mask next time.
            hide_from = number.positions[number.hidden.start - 1] + 1
            hide_to = number.positions[number.hidden.stop]
            out[hide_from:hide_to] = "*" * (hide_to - hide_from)
    return text if out is None else "".join(out)


def mask_personal_numbers(text: str) -> str:
    """ID-card numbers (18 or 15 digits), mobile numbers and bank-card numbers become partly starred,
    in whatever width and with whatever separators they were written. The length does not change."""
    return _mask(text)


def mask_and_truncate(text: str, limit: int) -> str:
    """The first `limit` characters of the masked text: a number cut by the limit is masked whole
    first, so no prefix of it survives. Only numbers starting before the limit are read."""
    return _mask(text, before=limit)[:limit]


# Digits (and separators) that run to the very end of the text.
_CUT_TAIL_RE = re.compile(r"[0-9][0-9\s.\-]*\Z")
CUT_TAIL_DIGITS = 7  # at a cut, this many digits in a row are taken for a number cut short


def remask_stored(text: str, limit: int) -> str:
    """Mask text stored before masking came first, everywhere: numbers in any form, and, when the text
    fills `limit` (it was cut there, then masked), the number the cut left too short to recognise.

    A run of CUT_TAIL_DIGITS or more digits at the cut keeps its first three; a date cut there is
    starred too, which the cut has made useless anyway. Masking again changes nothing."""
    masked = _mask(text)
    if len(masked) < limit:
        return masked
    tail = _CUT_TAIL_RE.search(_unmasked(_fold(masked)))
    if tail is None:
        return masked
    digits = [tail.start() + i for i, c in enumerate(tail.group()) if c.isdigit()]
    if len(digits) < CUT_TAIL_DIGITS:
        return masked
    keep = digits[2] + 1
    return masked[:keep] + "*" * (len(masked) - keep)


# ---- call-back numbers ---------------------------------------------------------------------------------
_PHONE_SEPARATORS_RE = re.compile(r"[\s\-.()（）]")
_CALLBACK_RE = re.compile(r"1[3-9]\d{9}|0\d{2,3}\d{7,8}")


def normalize_phone(text: str) -> str | None:
    """A mainland mobile or landline number in plain digits, or None if `text` is not one.

    Residents type full-width digits, spaces, dots, dashes and +86: all of that is folded first."""
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
