"""Messages with nothing to act on are told apart from short real questions."""

from __future__ import annotations

import pytest

from bot.core.junk import is_junk


@pytest.mark.parametrize(
    "text",
    [
        "aaaaaaa",
        "asdfghjkl",
        "qwertyuiop",
        "sdfsdfsdf",
        "xcvbnmkl",
        "啊啊啊啊啊",
        "哈哈哈哈哈哈",
        "呵呵",
        "abababab",
        "ＡＡＡＡ",
        "嗯嗯嗯",
    ],
)
def test_mashing_and_laughter_are_junk(text: str) -> None:
    assert is_junk(text)


@pytest.mark.parametrize(
    "text",
    [
        "身份证丢了怎么补办",
        "护照",
        "id card lost",
        "passport",
        "110",
        "救命救命救命",  # an emergency, and triaged before this is asked anyway
        "户口户口",
        "好的",
        "",
        "？？？",
        "12123怎么查违章",
        "1212121212",  # digits are left to the matcher (a ticket number, 110)
    ],
)
def test_words_and_short_questions_are_not(text: str) -> None:
    assert not is_junk(text)
