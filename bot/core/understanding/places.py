"""Noticing a question about another place: 三亚户口迁入条件 asks about Sanya's rules, which the police
room of this city cannot answer, however well the words match its own 户口迁入 entry.

The places (provinces, cities and the districts of some) are a list that says which lies in which; the
home places are learned from the knowledge base: those its communities name and those its answers keep
mentioning, with the places above them (the province) and within them (every district of the city).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

_SUFFIXES = "市省区县州"
HOME_MENTIONS = 3  # answers of at least this many entries name a place: it is the home city or region


@lru_cache(maxsize=1)
def _atlas() -> tuple[frozenset[str], dict[str, str]]:
    """Every place, and the place each one lies in (from lines "A: B C")."""
    names: set[str] = set()
    parent: dict[str, str] = {}
    text = (Path(__file__).parent / "data" / "places.txt").read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        above, _, below = line.rpartition(":")
        above = above.strip()
        for name in below.split():
            names.add(name)
            if above:
                parent[name] = above
        if above:
            names.add(above)
    return frozenset(names), parent


def places() -> frozenset[str]:
    return _atlas()[0]


def _around(seeds: set[str]) -> set[str]:
    """The seeds with every place above them and every place within them (not their neighbours)."""
    _, parent = _atlas()
    above: set[str] = set()
    for place in seeds:
        up = parent.get(place)
        while up is not None and up not in above:
            above.add(up)
            up = parent.get(up)
    within = set(seeds)
    while True:
        more = {child for child, up in parent.items() if up in within} - within
        if not more:
            break
        within |= more
    return above | within


def place_of(term: str) -> str | None:
    """The place a segmented term names (三亚, 三亚市 → 三亚), if any."""
    known = places()
    if term in known:
        return term
    stripped = term.rstrip(_SUFFIXES)
    return stripped if stripped != term and stripped in known else None


# Where a resident comes from, or where someone of the story is, is not whose rules they ask about:
# 刚从贵州过来租房子住 asks this city's registration rules, 户主在广东打工回不来 this city's booklet. A place
# after 从/来自, before 人 (not 人才, 人口)/过来/来的, or between 在 and a stay (打工, 上班, 上学…) names one.
_ORIGIN_BEFORE = "(?:从|来自|自)"
_ORIGIN_AFTER = "(?:人(?![才口社民事力员大防保])|过来|来的|来到|来柳|到这|到这边|到本地)"
_STAY = "(?:打工|务工|上班|工作|上学|读书|念书|出差|当兵|住院|做生意)"


def origins(normalized: str) -> frozenset[str]:
    """The places a question names only as where the resident (or someone) comes from or stays."""
    found: set[str] = set()
    for place in places():
        if place not in normalized:
            continue
        name = re.escape(place) + f"[{_SUFFIXES}]?"
        as_origin = (
            len(re.findall(_ORIGIN_BEFORE + name, normalized))
            + len(re.findall(name + _ORIGIN_AFTER, normalized))
            + len(re.findall("在" + name + _STAY, normalized))
        )
        # ... and only there (我是湖南人，湖南的居住证积分怎么算 still asks about 湖南).
        if as_origin and as_origin >= normalized.count(place):
            found.add(place)
    return frozenset(found)


# Where to go, when it opens, whom to call: another city's windows, hours and numbers are never ours,
# even for a matter whose rules are the same everywhere (常德哪里办港澳通行证).
# A phone number asked for, not a call told about ("北京来电话说我涉嫌洗钱" is a fraud question).
_ASKS_WHERE = re.compile(
    "哪里|哪儿|哪个(?:派出所|窗口|大厅|地方)|在哪|什么地方|地址|几点|上班时间|办公时间|窗口|大厅|网点"
    "|(?:电话|号码)(?:是)?(?:多少|几号)|联系电话|咨询电话|电话号码"
)


def asks_where(normalized: str) -> bool:
    """The question asks for a place, opening hours or a number, which differ from city to city."""
    return _ASKS_WHERE.search(normalized) is not None


def home_places(community_texts: Iterable[str], answers_by_entry: Iterable[Iterable[str]]) -> frozenset[str]:
    """Places the communities name, and places the answers of several entries mention."""
    known = places()
    home = {p for text in community_texts for p in known if p in text}
    mentions: Counter[str] = Counter()
    for answers in answers_by_entry:
        joined = " ".join(answers)
        mentions.update(p for p in known if p in joined)
    home |= {p for p, n in mentions.items() if n >= HOME_MENTIONS}
    return frozenset(_around(home))
