"""A message that is nothing but a cry or an alarm is always raised, whatever the learned weighing says
of the same words beside a hot pot or a game."""

from __future__ import annotations

import pytest

from bot.core.triage import Triage
from bot.core.triage.kinds import UrgentKind
from bot.core.triage.rules import bare_alarm
from tests.core.test_triage import TRAINED

CRIME, FIRE, MEDICAL, TRAFFIC = UrgentKind.CRIME, UrgentKind.FIRE, UrgentKind.MEDICAL, UrgentKind.TRAFFIC


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("救命 救命 救命", CRIME),
        ("救命！！！", CRIME),
        ("就命啊", CRIME),  # a homophone typo, folded first
        ("救蒙啊", CRIME),
        ("SOS", CRIME),
        ("help!!!", CRIME),
        ("🆘🆘", CRIME),
        ("快来人啊", CRIME),
        ("110 110", CRIME),
        ("紧急！", CRIME),
        ("火 火 火", FIRE),
        ("着火啦！！", FIRE),
        ("🔥🔥🔥", FIRE),
        ("救命 着火了", FIRE),  # the kind the words name, not the cry's
        ("🚑🚑 快", MEDICAL),
        ("120！", MEDICAL),
        ("122 122", TRAFFIC),
    ],
)
def test_a_bare_cry_or_alarm_is_raised_with_its_kind(text: str, kind: UrgentKind) -> None:
    assert bare_alarm(text) is kind
    result = TRAINED(text)
    assert result.kind is kind and result.numbers
    assert Triage(None, None)(text).kind is kind  # the rules alone say the same


@pytest.mark.parametrize(
    "text",
    [
        "救命😂",  # laughing
        "help lol",
        "救命哈哈哈",
        "救命啊 这火锅太辣了",  # a story around it: the learned weighing decides
        "火了",  # one 火 alone: also "went viral"
        "火！",
        "快",
        "啊啊啊",
        "我要报警",
        "救命" * 30,  # long: the learned weighing decides
    ],
)
def test_anything_more_or_less_is_left_to_the_weighing(text: str) -> None:
    assert bare_alarm(text) is None
