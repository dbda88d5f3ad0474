"""Messages that say nothing: keyboard mashing, one character held down, a laugh. They get a polite
request for words and never become an officer's ticket (a load of them once filled the queues).

Emergencies are triaged before this is asked: "救命救命救命" is one word repeated, and urgent.
"""

from __future__ import annotations

import re

from bot.core.text import CJK_CLASS, fold

_WORD_RE = re.compile(f"[0-9a-z{CJK_CLASS}]+")
# Latin runs of this length or longer without a vowel, or keyboard rows, are not words.
_NO_VOWEL_RE = re.compile(r"[b-df-hj-np-tv-xz]{6,}")
_KEYBOARD_RUNS = (
    "qwert",
    "werty",
    "asdf",
    "sdfg",
    "dfgh",
    "fghj",
    "ghjk",
    "hjkl",
    "zxcv",
    "xcvb",
    "cvbn",
    "vbnm",
)
# Characters that make up laughter and interjections when nothing else is there.
_SOUNDS = frozenset("哈呵嘿嘻啊哦噢呃嗯唉额哎呀哇嘤")


def is_junk(text: str) -> bool:
    """True when the message holds no words to act on (never for an empty one: that is its own case)."""
    joined = "".join(_WORD_RE.findall(fold(text)))
    if not joined:
        return False
    if joined.isdigit():
        return False  # a ticket number, 110, a year: numbers are left to the matcher
    distinct = set(joined)
    if len(joined) >= 3 and len(distinct) == 1:
        return True  # "aaaaaa", "啊啊啊啊" ("救命救命" is two characters: a word, repeated)
    if distinct <= _SOUNDS:
        return True  # "哈哈哈", "呵呵", "嗯嗯"
    if joined.isascii() and joined.isalpha():
        return (
            (len(joined) >= 4 and len(distinct) <= 2)  # "abab"
            or bool(_NO_VOWEL_RE.search(joined))
            or any(run in joined for run in _KEYBOARD_RUNS)
        )
    return False
