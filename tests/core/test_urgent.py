import pytest

from bot.core.text import fold
from bot.core.urgent import is_urgent


@pytest.mark.parametrize(
    "text",
    ["救命！", "有人打我", "有人在撬门，怎么办", "我刚被抢了", "楼下着火了", "有人拿刀在砍人", "孩子不见了"],
)
def test_emergencies_in_progress(text: str) -> None:
    assert is_urgent(fold(text))


@pytest.mark.parametrize(
    "text",
    [
        "我昨天被人打了，调解什么时候安排",
        "万一有人撬门怎么办",
        "怎么防范入室盗窃",
        "身份证丢了怎么补办",
        "如何预防火灾",
    ],
)
def test_not_emergencies(text: str) -> None:
    assert not is_urgent(fold(text))
