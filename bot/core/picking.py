"""Picking from a "did you mean" list by words: "第二个", "2", "最后那个", "护照那个", "都不是，我问的是…"."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.conversation import WHO_NAME, own_words, without_asking
from bot.core.text import NON_WORD_RE, fold

_NUMERALS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "1": 1, "2": 2, "3": 3, "4": 4, "5": 5}
_ORDINAL_RE = re.compile(
    r"^(?:我?(?:选|要|是|问的?是|说的?是|看|点|挑|拣|选择|想要))?(?:选项|编号|序号)?(?:第\s*)?"
    r"([一二两三四五1-5])(?:\s*(?:个|项|条|种|号))?(?:选项|情况|问题)?(?:吧|吧吧|啊|呀|的|那个|这个)?$"
)
_PICK_VERB = r"^(?:我?(?:选|要|是|点|拣))?"
_FIRST_RE = re.compile(_PICK_VERB + r"(?:头一|最上面|最上边|最前面|最前边|最顶上)(?:那|这)?(?:个|项|条)?$")
_LAST_RE = re.compile(
    _PICK_VERB + r"(?:最后|最下面|最后面|最下边|最底下|最末|末尾|倒数第一)(?:一|那|这)?(?:个|项|条)?$"
)
_FROM_END_RE = re.compile(_PICK_VERB + r"倒数第([一二两三四五1-5])(?:个|项|条)?$")
# What residents wrap a place in the list in ("嗯 那就第二个吧 谢谢", "不是这个，是第二个"): taken off
# before the place is read. Not before the name of a matter, whose own words are read as they are.
_PICK_LEAD_RE = re.compile(
    r"^(?:嗯+|哦+|噢+|呃+|额+|啊|对的|对|是的|好的|好|行|那就|那|就是|就|应该是|应该|可能是|估计是|我觉得是|"
    r"(?:不是|不对)(?:这个|那个|这|那)?(?=是|选|要|第))+"
)
_PICK_TAIL_RE = re.compile(
    r"(?:吧|啊|呀|的|哈|啦|哦|喔|呢|了|嘛|谢谢你|谢谢|谢了|多谢|麻烦了|麻烦你了|对吧|没错|就行|就好|就可以)+$"
)
_NONE_RE = re.compile(
    r"^(?:0|零|都不是|都不对|都没有|全都不是|全都不对|全不是|全错|不是这些|不是这个|不是这几个|没有我要的|"
    r"没有我想问的|没有我问的|没有对的|没有|都不|都不要|一个都不是|一个也不是|一个也不对|哪个都不是|没一个对|"
    r"没一个是|没有一个是|没有一个对|以上都不是|以上都不对|以上全不是|这些都不是|这些都不对|这几个都不是|"
    r"这几个都不对|[两三四五2-5]个都不是|[两三四五2-5]个都不对|都唔系|唔系|都唔啱|唔啱|"
    r"不是|不对|都不沾边|转人工|人工|找民警|转民警|转给民警)(?:的|啊|呀|吧|哦|了)?$"
    # ... or says so first and goes on ("都不对，我要问别的").
    r"|^(?:都不是|都不对|全都不是|全不是|一个都不是|哪个都不是|不是这些|没有我要的|没有我想问的|都没有|"
    r"以上都不是|以上都不对|这些都不是|这几个都不是|[两三四五2-5]个都不是|都唔系)"
)
# "我问的是…", "我想问…": what introduces the matter meant after refusing a list.
_MEANT_RE = re.compile(r"^(?:我|俺)?(?:是|想|要)?(?:问|说|找)(?:的|一下|下)?(?:是)?")


@dataclass(frozen=True, slots=True)
class Pick:
    """A "did you mean" list answered by words: a position (0-based), or none of them."""

    position: int | None  # None: none of these
    entry_id: str | None = None
    # None of these, and then what was meant after all ("都不是，我问的是护照"): a question of its own.
    rest: str = ""
    named: bool = False  # picked by words of a title ("护照那个"), not by its place in the list
    beyond: bool = False  # a place the list does not have ("第三个" of two): nothing picked


def read_pick(text: str, choices: tuple[str, ...], titles: dict[str, str]) -> Pick | None:
    """ "第二个", "2", "最后那个", "护照那个", "都不是" after a list of `choices` (entry ids)."""
    compact = NON_WORD_RE.sub("", fold(text))
    if not compact or not choices:
        return None
    core = _PICK_TAIL_RE.sub("", _PICK_LEAD_RE.sub("", compact)) or compact
    for form in (compact, core):
        refused = _NONE_RE.match(form)
        if refused:
            rest = _MEANT_RE.sub("", form[refused.end() :])
            return Pick(None, rest=rest if own_words(rest) else "")
    # "第一个要多少钱", "2带什么": a position and the part of it asked (read by the service).
    # People are kept: "两个孩子…" is not the second entry.
    if from_end := _FROM_END_RE.match(core):
        n: int | None = len(choices) + 1 - _NUMERALS[from_end.group(1)]
    elif _FIRST_RE.match(core):
        n = 1
    elif _LAST_RE.match(core):
        n = len(choices)
    else:
        found = _ORDINAL_RE.match(core) or _BARE_ORDINAL_RE.match(without_asking(compact, keep=WHO_NAME))
        n = _NUMERALS[found.group(1)] if found else None
    if n is not None:
        return Pick(n - 1, choices[n - 1]) if 1 <= n <= len(choices) else Pick(None, beyond=True)
    # By name: "护照那个", "港澳的": the words left must belong to exactly one offered title. Asking
    # words go first, so "我问的是分户的流程" is not a pick of the one title that says 流程.
    words = own_words(compact)
    if not 1 <= len(words) <= 8:
        return None
    scores = [_shared_words(words, fold(titles.get(entry_id, ""))) for entry_id in choices]
    best = max(scores)
    if best and scores.count(best) == 1:
        position = scores.index(best)
        return Pick(position, choices[position], named=True)
    return None


_BARE_ORDINAL_RE = re.compile(r"^第?([一二两三四五1-5])$")


def _shared_words(words: str, title: str) -> int:
    """How many two-character runs of `words` appear in `title` (港澳 in 往来港澳通行证及签注)."""
    if len(words) == 1:
        return int(words in title)
    return sum(1 for i in range(len(words) - 1) if words[i : i + 2] in title)
