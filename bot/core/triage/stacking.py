"""How much the readable rules and the classifier each count, learned instead of set by hand.

A rule that fires is strong evidence, but not on its own: "这房价简直是抢劫", "火锅辣到嘴巴着火了" and
"网传某小区煤气爆炸" fire rules too. Cues of "now" and of "not now" (past, what if, prevention, news,
paperwork) are evidence as well, not vetoes: "有个警察跟我视频 说我涉嫌洗钱" is an emergency although
"视频说" reads like a video being retold. A logistic regression over these signals and the classifier's
out-of-fold probability gives P(emergency); its weights are fitted on the shipped phrasings.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bot.core.triage.rules import (
    NO_INJURY_RE,
    NOT_NOW_RE,
    NOW_RE,
    RESOLVED_RE,
    RuleHit,
    told_as_not_now,
)

SIGNALS: tuple[str, ...] = (
    "classifier_logit",  # log-odds of the classifier's P(emergency), scaled
    "rule",  # a rule of a kind fired (crime.weapon, fire.gas, ...)
    "cry",  # only a cry for help without a kind fired (救命, sos)
    "now",  # something says now: 正在, 刚刚, 还在门口, help
    "not_now",  # something says past, what if, prevention, news or paperwork
    "told_as_not_now",  # ... and nothing says now (or it is over): rules.said_as_not_now
    "resolved",  # it is over: 找到了, 没转, 挂了电话
    "no_injury",  # 没人受伤, 剐蹭
    "question",  # asks about something: 吗, 怎么, 能不能, ?
    "hyperbole",  # 笑死, 累死, 要命, 哈哈, lol
    "pressing",  # 急, 快, 救, !!
    "length",
    "rule_and_told_as_not_now",
    "rule_and_now",
    "logit_and_told_as_not_now",
    "logit_and_rule",
    "logit_and_question",
    "logit_and_hyperbole",
    "rule_and_hyperbole",
    "rule_and_question",
)
QUESTION_RE = re.compile(
    r"(吗|么|嘛|呢|不)[?？]?$|怎么|如何|能不能|可不可以|可以.{0,8}(吗|么)|是不是|有没有|哪里|多久|[?？]"
    r"|\b(how|what|can|is|does|where|why)\b"
)
HYPERBOLE_RE = re.compile(
    r"(笑|累|热|饿|气|吓|困|忙|烦|尬|丑|美|爽|酸|难受)死|死了$|要命|崩溃|疯了|lol|lmao|hhh|哈哈|😂|🤣|😅|开玩笑"
)
PRESSING_RE = re.compile(r"[!！]{2,}|急|快|马上|赶紧|求求|救|help|sos|please")
C = 1.0  # a score of signals, thousands of phrasings: little to regularise
SEED = 0


def signals(prepared: str, hits: Sequence[RuleHit], p_urgent: float) -> np.ndarray:
    p = min(max(p_urgent, 1e-4), 1 - 1e-4)
    logit = math.log(p / (1 - p)) / 4.0  # about -2.3 to 2.3
    rule = float(any(h.kind is not None for h in hits))
    cry = float(bool(hits) and not rule)
    now, not_now, resolved, no_injury, question, hyperbole, pressing = (
        float(pattern.search(prepared) is not None)
        for pattern in (NOW_RE, NOT_NOW_RE, RESOLVED_RE, NO_INJURY_RE, QUESTION_RE, HYPERBOLE_RE, PRESSING_RE)
    )
    told = float(told_as_not_now(bool(now), bool(not_now), bool(resolved)))
    length = math.log1p(len(prepared)) / 5.0
    return np.array(
        [
            logit,
            rule,
            cry,
            now,
            not_now,
            told,
            resolved,
            no_injury,
            question,
            hyperbole,
            pressing,
            length,
            rule * told,
            rule * now,
            logit * told,
            logit * rule,
            logit * question,
            logit * hyperbole,
            rule * hyperbole,
            rule * question,
        ]
    )


@dataclass(frozen=True, slots=True)
class Stacker:
    weights: np.ndarray
    bias: float

    @classmethod
    def fit(cls, rows: np.ndarray, urgent: Sequence[bool]) -> Stacker:
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=C, max_iter=1000, random_state=SEED)
        model.fit(rows, np.asarray(urgent, dtype=int))
        return cls(model.coef_.ravel().astype(np.float64), float(model.intercept_[0]))

    def probability(self, row: np.ndarray) -> float:
        z = float(row @ self.weights) + self.bias
        return 1.0 / (1.0 + math.exp(-z)) if z > -30 else 0.0

    def explain(self) -> dict[str, float]:
        return dict(zip(SIGNALS, (round(float(w), 2) for w in self.weights), strict=True))
