"""The masker on the forms residents actually write, and on the numbers officers must keep reading."""

from __future__ import annotations

import re

import pytest

from bot.core.privacy import (
    id_checksum_ok,
    luhn_ok,
    mask_and_truncate,
    mask_personal_numbers,
    remask_stored,
)
from tests.privacy_checks import luhn_complete

VALID_ID = "11010519491231002X"  # the checksum example of GB 11643
BAD_CHECK_ID = "110105194912310021"
SPACED_ID = "510107 20010229 0333"  # the birth date need not exist: a typo is still somebody's number
ID_15 = "110105491231002"  # the pre-1999 form: 6-digit area, YYMMDD, 3-digit sequence


CARD_19 = luhn_complete("622202123456789012")
CARD_16 = luhn_complete("622848001234567")
NOT_A_CARD_16 = CARD_16[:-1] + str((int(CARD_16[-1]) + 1) % 10)
FULL_WIDTH = str.maketrans("0123456789Xx+-. ", "０１２３４５６７８９Ｘｘ＋－．\u3000")


def digits_of(text: str) -> str:
    return re.sub(r"\D", "", text)


def longest_digit_run(text: str) -> int:
    """Separators do not end a run (a number written with spaces is still read whole); anything else,
    the mask's stars included, does."""
    runs = re.findall(
        r"\d(?:[\s\-.·]{0,3}\d)*", text.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    )
    return max((len(digits_of(r)) for r in runs), default=0)


def test_checksum() -> None:
    assert id_checksum_ok(VALID_ID)
    assert id_checksum_ok(VALID_ID.lower())
    assert not id_checksum_ok(BAD_CHECK_ID)


def test_luhn() -> None:
    assert luhn_ok("4111111111111111")
    assert not luhn_ok("4111111111111112")
    assert luhn_ok(CARD_19) and not luhn_ok(NOT_A_CARD_16)


def test_valid_id_numbers_are_masked() -> None:
    masked = mask_personal_numbers(f"我的身份证号是{VALID_ID}，帮我查一下")
    assert masked == "我的身份证号是110***********002X，帮我查一下"


@pytest.mark.parametrize(
    "number",
    [
        VALID_ID,
        VALID_ID.lower(),
        BAD_CHECK_ID,  # a mistyped check digit leaves 17 right digits
        SPACED_ID,
        "510107-20010229-0333",
        "510107.2001.0229.0333",
        "510 107 2001 0229 0333",
        "11010519491231002 X",
        ID_15,
        "110105 491231 002",
        VALID_ID.translate(FULL_WIDTH),
        SPACED_ID.translate(FULL_WIDTH),
        ID_15.translate(FULL_WIDTH),
    ],
)
def test_id_numbers_in_every_form_are_masked(number: str) -> None:
    text = f"身份证{number}丢了"
    masked = mask_personal_numbers(text)
    assert masked.startswith("身份证") and masked.endswith("丢了")
    assert len(masked) == len(text)
    assert longest_digit_run(masked) <= 4, masked
    assert "*" * 8 in masked


@pytest.mark.parametrize(
    "phone",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "138.1234.5678",
        "1381234 5678",
        "+86 138 1234 5678",
        "+86-138-1234-5678",
        "+8613812345678",
        "8613812345678",
        "86-138-1234-5678",
        "0086 138 1234 5678",
        "008613812345678",
        "13812345678".translate(FULL_WIDTH),
        "+86 138 1234 5678".translate(FULL_WIDTH),
        "138\u30001234\u30005678",
    ],
)
def test_mobile_numbers_in_every_form_are_masked(phone: str) -> None:
    masked = mask_personal_numbers(f"电话{phone}联系我")
    assert "1234" not in digits_of(masked)
    assert masked.startswith("电话") and masked.endswith("联系我")
    # the head and tail stay readable, in plain digits whatever width they were typed in
    assert re.search(r"138\*{4,}5678", masked), masked


@pytest.mark.parametrize("phone", ["177.5555.4444", "199 0000 1111", "19912345678", "16612345678"])
def test_every_mobile_prefix_is_masked(phone: str) -> None:
    masked = mask_personal_numbers(phone)
    assert longest_digit_run(masked) <= 4 and "****" in masked


def test_a_canonical_mobile_keeps_its_familiar_shape() -> None:
    assert mask_personal_numbers("电话13812345678") == "电话138****5678"


@pytest.mark.parametrize(
    "card",
    [
        CARD_19,
        CARD_16,
        " ".join(CARD_19[i : i + 4] for i in range(0, 19, 4)),
        "-".join(CARD_16[i : i + 4] for i in range(0, 16, 4)),
        CARD_16.translate(FULL_WIDTH),
        "4111 1111 1111 1111",
    ],
)
def test_bank_card_numbers_are_masked(card: str) -> None:
    masked = mask_personal_numbers(f"骗子让我往卡号{card}转账")
    assert longest_digit_run(masked) <= 6, masked
    assert masked.startswith("骗子让我往卡号") and masked.endswith("转账")


def test_a_bank_card_keeps_the_issuer_and_the_last_four() -> None:
    masked = mask_personal_numbers(CARD_19)
    assert masked == CARD_19[:6] + "*" * 9 + CARD_19[-4:]


def test_numbers_side_by_side_are_each_masked() -> None:
    text = f"身份证{SPACED_ID} 电话177.5555.4444 卡{CARD_16}"
    masked = mask_personal_numbers(text)
    assert longest_digit_run(masked.replace(" ", "|")) <= 6
    for original in (digits_of(SPACED_ID), "17755554444", CARD_16):
        assert original[3:10] not in digits_of(masked)


def test_an_id_and_a_mobile_with_only_a_space_between() -> None:
    masked = mask_personal_numbers(f"{VALID_ID} 13812345678")
    assert masked == "110***********002X 138****5678"


@pytest.mark.parametrize(
    "text",
    [
        # licence plates: officers need them as written
        "车牌桂B12345被刮了",
        "桂BD12345新能源车",
        "粤A 12345",
        "桂B·12345",
        # dates and times
        "2024-01-15",
        "2024.1.15",
        "2024/01/15 13:45",
        "2024年1月15日",
        "20240115",
        "1949年12月31日出生",
        # amounts
        "被骗了13,800元",
        "转账50000.00元",
        "¥1,380,000",
        "损失138123456元",
        # ticket numbers
        "工单号WJ000123",
        "WJ123456 怎么还没人回",
        # offices, hotlines and short numbers
        "打0772-1234567或者110",
        "0772 1234567",
        "（0772）1234567",
        "0772-1234567 0772-7654321",
        "0772-1234567、0772-7654321",
        "12345",
        "96110",
        "12110",
        "400-800-8888",
        "95588",
        "110 120 119",
        # a 16-digit order number that is no card (Luhn fails)
        f"订单号{NOT_A_CARD_16}",
        # numbers too long to be any of ours
        "交易单号 20240115220012345678901234",
        # words only
        "身份证丢了怎么补办？",
        "ID card lost, what to do?",
        "",
    ],
)
def test_what_officers_need_is_left_alone(text: str) -> None:
    assert mask_personal_numbers(text) == text


def test_a_date_next_to_a_mobile_stays() -> None:
    assert mask_personal_numbers("2024 01 15 13812345678") == "2024 01 15 138****5678"
    assert mask_personal_numbers("2024-01-15 13812345678") == "2024-01-15 138****5678"


def test_id_right_after_letters_is_masked() -> None:
    assert VALID_ID not in mask_personal_numbers(f"ID{VALID_ID}")


def test_full_width_text_around_numbers_is_kept_as_written() -> None:
    text = "我的电话是：１３８１２３４５６７８，谢谢！"
    assert mask_personal_numbers(text) == "我的电话是：138****5678，谢谢！"


def test_masking_twice_changes_nothing() -> None:
    text = f"身份证{SPACED_ID}，电话+86 177.5555.4444，卡 {CARD_19}，报警110"
    once = mask_personal_numbers(text)
    assert mask_personal_numbers(once) == once
    # a number somebody typed as the mask prints it stays as it is
    assert mask_personal_numbers("138****5678") == "138****5678"


@pytest.mark.parametrize("number", [VALID_ID, SPACED_ID, "177.5555.4444", "+86 138 1234 5678", CARD_19])
@pytest.mark.parametrize("cut", range(1, 12))
def test_a_number_cut_by_the_limit_is_masked_first(number: str, cut: int) -> None:
    limit = 2000
    text = "啊" * (limit - cut) + number + "后面的话"
    stored = mask_and_truncate(text, limit)
    assert len(stored) == limit
    assert stored.startswith("啊" * (limit - cut))
    assert longest_digit_run(stored) <= 6, stored[-30:]


def test_truncating_short_text_keeps_it_whole() -> None:
    assert mask_and_truncate("电话13812345678", 2000) == "电话138****5678"
    assert mask_and_truncate("", 10) == ""


# ---- text stored before masking came first -------------------------------------------------------------
def test_a_number_cut_before_it_was_masked_loses_all_but_its_head() -> None:
    # Stored as cut-then-masked: the limit left ten digits of an ID the masker could not recognise.
    stored = "啊" * 1990 + "5101072001"
    assert remask_stored(stored, 2000) == "啊" * 1990 + "510*******"
    spaced = "啊" * 1989 + "177 5555 44"
    assert remask_stored(spaced, 2000) == "啊" * 1989 + "177********"


def test_a_short_run_at_the_cut_stays() -> None:
    stored = "啊" * 1994 + "510107"  # six digits say nothing about anybody
    assert remask_stored(stored, 2000) == stored


def test_text_that_was_not_cut_keeps_its_last_number() -> None:
    text = "请打0772-1234567"
    assert remask_stored(text, 2000) == text


def test_remasking_stored_text_masks_every_form_and_twice_changes_nothing() -> None:
    old = f"电话１３８１２３４５６７８，身份证{SPACED_ID}，卡号{CARD_16}，车牌桂B12345，2024-01-15"
    once = remask_stored(old, 2000)
    assert once == mask_personal_numbers(old)
    assert "桂B12345" in once and "2024-01-15" in once
    assert longest_digit_run(once.replace("，", "|").replace("2024-01-15", "")) <= 6
    assert remask_stored(once, 2000) == once
    cut = "啊" * 1990 + "5101072001"
    assert remask_stored(remask_stored(cut, 2000), 2000) == remask_stored(cut, 2000)
