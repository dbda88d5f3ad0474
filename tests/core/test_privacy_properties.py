"""Property tests of the masker: personal numbers in every width and with any separators never
survive; text without numbers, and the numbers officers need, come through unchanged."""

from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.core.privacy import mask_and_truncate, mask_personal_numbers
from tests.privacy_checks import luhn_complete, survivors

PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# What a resident puts between the groups of a number, in both widths.
SEPARATORS = st.sampled_from([" ", "  ", "-", ".", " - ", "\u3000", "－", "．", "·", "。", "\u00a0", "—"])
FULL_WIDTH = {ord(c): ord(c) + 0xFEE0 for c in "0123456789+Xx"}
# Words around a number: ideographs and punctuation, never a digit or a separator touching it.
CJK = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF)
WORDS = st.text(st.one_of(CJK, st.sampled_from("，。？！：、（）")), max_size=12).map(lambda s: f"问{s}题")


def _check_digit(body: str) -> str:
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(body))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


ID_18 = st.builds(
    lambda area, born, seq, check: f"{area:06d}{born:%Y%m%d}{seq:03d}{check}",
    st.integers(min_value=110000, max_value=829999),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)),
    st.integers(min_value=0, max_value=999),
    st.sampled_from("0123456789Xx"),  # any check digit: a typo in it leaves 17 right digits
)
ID_18_CHECKED = ID_18.map(lambda n: n[:17] + _check_digit(n[:17]))
ID_15 = st.builds(
    lambda area, born, seq: f"{area:06d}{born:%y%m%d}{seq:03d}",
    st.integers(min_value=110000, max_value=829999),
    st.dates(min_value=date(1900, 1, 1), max_value=date(1999, 12, 31)),
    st.integers(min_value=0, max_value=999),
)
MOBILE = st.builds(
    lambda second, rest: f"1{second}{rest:09d}", st.sampled_from("3456789"), st.integers(0, 10**9 - 1)
)
CARD = st.builds(
    lambda issuer, length, body: luhn_complete((issuer + f"{body:019d}")[: length - 1]),
    st.sampled_from(["62", "4", "5", "35", "9"]),
    st.sampled_from([16, 17, 19]),  # 18 digits are read as an ID, which masks more
    st.integers(0, 10**19 - 1),
)
PREFIX = st.sampled_from(["", "+86", "+86 ", "86", "86-", "0086", "0086 ", "+86-"])


@st.composite
def written(draw: st.DrawFn, number: str, group: int = 1) -> str:
    """`number` as a resident might type it: split anywhere into groups of at least `group` digits,
    any separators between them, any width per character."""
    cuts = sorted(draw(st.sets(st.integers(1, len(number) - 1), max_size=len(number) - 1)))
    cuts = [c for i, c in enumerate(cuts) if c >= group and c - ([0, *cuts][i]) >= group]
    cuts = [c for c in cuts if len(number) - c >= group]
    pieces = [number[a:b] for a, b in zip([0, *cuts], [*cuts, len(number)], strict=True)]
    text = pieces[0] + "".join(draw(SEPARATORS) + piece for piece in pieces[1:])
    wide = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.translate(FULL_WIDTH) if w else c for c, w in zip(text, wide, strict=True))


@st.composite
def personal_number(draw: st.DrawFn, group: int = 1) -> tuple[str, str]:
    """(the personal digits, the number as written)."""
    kind = draw(st.sampled_from(["id18", "id15", "mobile", "card"]))
    if kind == "mobile":
        mobile = draw(MOBILE)
        return mobile, draw(PREFIX) + draw(written(mobile, group))
    number = draw({"id18": ID_18, "id15": ID_15, "card": CARD}[kind])
    return number, draw(written(number, group))


@PROPERTY
@given(WORDS, personal_number(), WORDS)
@example("电话", ("13812345678", "１３８ １２３４ ５６７８"), "")
@example("身份证", ("510107200102290333", "510107 20010229 0333"), "丢了")
@example("", ("17755554444", "+86 177.5555.4444"), "")
@example("", ("11010519491231002X", "110105 19491231002 X"), "")
def test_no_personal_number_survives_in_any_form(head: str, number: tuple[str, str], tail: str) -> None:
    digits, as_written = number
    text = head + as_written + tail
    masked = mask_personal_numbers(text)
    assert not survivors(digits, masked), (as_written, masked)
    assert len(masked) == len(text)
    assert masked.startswith(head) and masked.endswith(tail)  # the words around it are untouched
    assert mask_personal_numbers(masked) == masked  # and masking again changes nothing


# Side by side, numbers are written in groups of three or more digits, as people group them: split
# into single digits, "1 3 0 0 0 0 9 9 0 1 0 1000 1 3000301000" reads equally well as a 15-digit ID
# then a mobile or as a mobile then a 15-digit ID, and no reading can tell which digits to hide.
@PROPERTY
@given(WORDS, st.lists(personal_number(group=3), min_size=2, max_size=4), SEPARATORS, WORDS)
# Two readings cover and hide as many digits: a 15-digit ID then a 19-digit card, or the 18-digit ID
# and the 16-digit card that were written.
@example(
    "问题",
    [("110000200101018646", "110 000200101018 646"), ("6200000000000005", "620 0000000000005")],
    " ",
    "问题",
)
def test_numbers_side_by_side_are_all_masked(
    head: str, numbers: list[tuple[str, str]], between: str, tail: str
) -> None:
    text = head + between.join(w for _, w in numbers) + tail
    masked = mask_personal_numbers(text)
    # Masking keeps every character in place, so each number is checked where it was written: the
    # kept tail of one and the kept head of the next may by chance spell digits of a third.
    start = len(head)
    for digits, as_written in numbers:
        end = start + len(as_written)
        assert not survivors(digits, masked[start:end]), (text, masked)
        start = end + len(between)


@PROPERTY
@given(
    st.text(st.characters(blacklist_categories=("Nd", "Cs")), max_size=300),
)
@example("ID card lost, X marks *** the spot - call me.")
@example("身份证丢了怎么补办？　全角空格、句号。")
def test_text_without_numbers_is_unchanged(text: str) -> None:
    assert mask_personal_numbers(text) == text


OFFICE_PHONE = st.builds(
    lambda area, sep, local: f"0{area}{sep}{local}",
    st.sampled_from(["10", "20", "771", "772", "773", "898"]),
    st.sampled_from(["-", " ", "", "－"]),
    st.integers(10**6, 10**8 - 1).map(str),
)
DATE = st.builds(
    lambda day, style: day.strftime(style),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)),
    st.sampled_from(["%Y-%m-%d", "%Y.%m.%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日", "%Y-%m-%d %H:%M"]),
)
AMOUNT = st.builds(
    lambda value, style: style.format(value),
    st.integers(0, 10**9),
    st.sampled_from(["{:,}元", "¥{:,}.00", "{}元", "转账{}块"]),
)
PLATE = st.builds(
    lambda province, letter, rest: f"{province}{letter}{rest}",
    st.sampled_from("桂粤京沪川湘"),
    st.sampled_from("ABCDEFG"),
    st.from_regex(r"[0-9A-HJ-NP-Z]{5}|D[0-9]{5}", fullmatch=True),
)
SHORT = st.sampled_from(
    ["110", "119", "120", "122", "12345", "96110", "12110", "12356", "95588", "400-800-8888"]
)
TICKET = st.integers(1, 999_999).map(lambda n: f"WJ{n:06d}")


@PROPERTY
@given(WORDS, st.one_of(OFFICE_PHONE, DATE, AMOUNT, PLATE, SHORT, TICKET), WORDS)
def test_what_officers_need_is_kept(head: str, value: str, tail: str) -> None:
    text = head + value + tail
    assert mask_personal_numbers(text) == text


@PROPERTY
@given(st.integers(1, 60), personal_number(), st.integers(20, 200))
def test_masking_comes_before_the_cut(cut: int, number: tuple[str, str], limit: int) -> None:
    digits, as_written = number
    text = "问" * max(limit - cut, 0) + as_written + "后面还有话"
    stored = mask_and_truncate(text, limit)
    assert len(stored) == min(limit, len(text))
    assert stored == mask_personal_numbers(text)[:limit]
    assert not survivors(digits, stored), (as_written, stored)


# Found by test_numbers_side_by_side_are_all_masked's random search: a 15-digit ID written 11 + 4 beside
# a mobile written whole with 0086 also read as a mobile (the ID's first 11 digits) and a 19-digit card
# (the ID's last 4 and the prefixed mobile, Luhn-valid by chance), which hid one digit more, so that
# reading won and the ID's "9010 2047" stayed readable. A country code starts a phone number: a group
# that is a whole prefixed mobile is never the tail of a card.
def test_an_id_in_two_groups_beside_a_prefixed_mobile_is_masked() -> None:
    text = "问题13000099010 2047 008618000000000问题"
    masked = mask_personal_numbers(text)
    assert not survivors("130000990102047", masked[2:18]), masked
