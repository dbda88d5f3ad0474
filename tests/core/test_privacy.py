import pytest

from bot.core.privacy import id_checksum_ok, mask_personal_numbers

VALID_ID = "11010519491231002X"  # the checksum example of GB 11643


def test_checksum() -> None:
    assert id_checksum_ok(VALID_ID)
    assert id_checksum_ok(VALID_ID.lower())
    assert not id_checksum_ok("110105194912310021")


def test_valid_id_numbers_are_masked() -> None:
    masked = mask_personal_numbers(f"我的身份证号是{VALID_ID}，帮我查一下")
    assert VALID_ID not in masked
    assert "110***********002X" in masked


def test_numbers_failing_the_checksum_are_left_alone() -> None:
    text = "订单号110105194912310021"
    assert mask_personal_numbers(text) == text


@pytest.mark.parametrize(
    "phone",
    ["13812345678", "+86 138 1234 5678", "86-138-1234-5678", "138-1234-5678"],
)
def test_mobile_numbers_are_masked(phone: str) -> None:
    masked = mask_personal_numbers(f"电话{phone}联系我")
    assert "1234" not in masked
    assert "138****5678" in masked


def test_landlines_and_short_numbers_stay() -> None:
    text = "打0772-1234567或者110"
    assert mask_personal_numbers(text) == text


def test_id_right_after_letters_is_masked() -> None:
    assert VALID_ID not in mask_personal_numbers(f"ID{VALID_ID}")
