"""The fixed regex list emergencies were spotted with before triage (kept as the benchmark baseline).

The rule errs towards urgency for things happening now, and away from it for stories about the past
(昨天被人打了…) and for prevention questions (万一有人撬门怎么办), which the knowledge base answers.
"""

from __future__ import annotations

import re

_NOW_PATTERNS = (
    r"救命|救救我|help\s*me|sos\b",
    r"有人(正在|在|要)?(打我|打人|砍|捅|抢|撬|闯|砸|放火|绑|拿刀|持刀|跟踪我|杀)",
    r"(正在|在)(撬门|撬锁|撬窗|偷东西|抢劫|打架|砍人|砸东西|闯进)",
    r"(被|遭)(人)?(抢|抢劫|劫持|绑架|砍伤|捅伤|捅了|砍了)(了)?",
    r"(着火了|起火了|失火了|火烧起来|烟很大|冒浓烟)",
    r"(打|揍|杀)(死)?我|要杀我|杀人了|出人命",
    r"(要|想)(跳楼|自杀|轻生)|(跳楼|自杀)了",
    r"(家暴|家庭暴力).{0,6}(现在|正在|还在)|(现在|正在|还在).{0,6}(家暴|打我)",
    r"(出|发生)(了)?车祸.{0,8}(受伤|流血|昏迷|人倒)",
    r"快(来|报警|救)",
    r"小孩(不见了|丢了|被抱走)|孩子(不见了|丢了|被抱走)",
)
_NOW_RE = re.compile("|".join(f"(?:{p})" for p in _NOW_PATTERNS))

# A story about the past or a "what if" question is not an emergency in progress.
_NOT_NOW_RE = re.compile(
    r"昨天|前天|上周|上个月|去年|前几天|之前|以前|那天|当时|上次|曾经|"
    r"如果|万一|假如|要是|怎么防|如何防|防范|预防|怎样防|注意什么|应该怎么办才"
)


def is_urgent(folded_text: str) -> bool:
    """`folded_text` is the folded (simplified, lower-case) message, before fillers are removed."""
    if not _NOW_RE.search(folded_text):
        return False
    return not _NOT_NOW_RE.search(folded_text)
