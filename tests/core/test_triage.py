"""Triage: every kind of emergency in residents' own words, and the look-alikes that are not one."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.triage import (
    ALSO_SHARE,
    THRESHOLD,
    Triage,
    TriageResult,
    UrgentKind,
    choose_also_share,
    choose_threshold,
    held_out,
    load_phrasings,
    numbers_for,
    with_also,
)
from bot.core.triage.data import Sample
from bot.core.triage.kinds import CRISIS_LINE, GUIDANCE, guidance_text, label_of
from bot.core.triage.rules import RULES, prepare, rule_hits, said_as_not_now

CRIME, MISSING, SELF_HARM, FIRE = UrgentKind.CRIME, UrgentKind.MISSING, UrgentKind.SELF_HARM, UrgentKind.FIRE
MEDICAL, TRAFFIC, FRAUD = UrgentKind.MEDICAL, UrgentKind.TRAFFIC, UrgentKind.FRAUD


@pytest.fixture(scope="module")
def triage() -> Triage:
    return TRAINED


RULES_ONLY = Triage()  # no classifier: what the readable rules decide alone


def _as_the_app_fits_it() -> list:
    from bot.core.triage.data import knowledge_controls
    from bot.kb.loader import load_knowledge

    shipped = Path(__file__).resolve().parents[2] / "knowledge"
    return load_phrasings() + knowledge_controls(load_knowledge(shipped).all_questions())


# As the app fits it: every test of behaviour judges the model residents get (and it is fitted once).
TRAINED = Triage.trained(_as_the_app_fits_it())

# One or more phrasings per rule. Deleting a rule fails the test that names it.
RULE_EXAMPLES: dict[str, list[str]] = {
    "help.cry": ["救命！！", "救救我", "🆘", "就命啊", "jiuming", "help me please", "隔壁传来女人的呼救声"],
    "help.report": ["快帮我报警", "please call the police"],
    "crime.attack": ["有个男的拿着刀追我", "有人在砸我家的门", "有一群人围着我动手"],
    "crime.hit_me": ["他说要弄死我", "我老公在打我"],
    "crime.threat": ["前男友堵在我家门口不走", "有人一直在拧门把手"],
    "crime.burglary": ["家裡有賊", "半夜有人在撬锁", "有个贼仔喺我屋企"],
    "crime.weapon": ["街上有人挥着菜刀", "楼下响了好几声枪声"],
    "crime.robbery": ["我刚被抢了", "我在地铁上被人摸了"],
    "crime.follow": ["有人一直跟着我", "下班路上被人尾随"],
    "crime.domestic": ["正在被家暴", "继父在打我妈"],
    "crime.fight": ["楼下打群架了", "两伙人打起来了"],
    "crime.held": ["我被关在一个房间里出不去", "司机锁了车门不让我下车"],
    "crime.english": ["someone is breaking in", "a man with a knife is outside"],
    "missing.child": ["孩子不见了", "我家细路唔见咗", "女儿放学到现在还没回家", "儿子在商场被陌生人带走了"],
    "missing.elder": ["我爸有老年痴呆，早上出门到现在没回来", "奶奶走丢了"],
    "missing.person": ["人不见了，急", "我弟弟失踪了"],
    "missing.english": ["my son is missing", "I lost my daughter at the park"],
    "self_harm.words": ["不想活了", "我想死", "活着没有任何意义", "我写好遗书了"],
    "self_harm.means": ["我吃了一瓶安眠药", "他站在楼顶说要跳楼", "我已经吞了药"],
    "self_harm.english": ["I want to kill myself", "she took a lot of pills"],
    "fire.fire": ["着火了", "家裡著火了", "🔥🔥 楼上", "楼道里全是烟", "fire in the kitchen"],
    "fire.gas": ["屋里好大一股煤气味", "天然气好像漏了", "I smell gas in the flat"],
    "fire.trapped": ["我被困在电梯里了", "电梯突然停了，门打不开", "we are stuck in the lift"],
    "fire.water": ["有小孩落水了", "有个人掉进池塘里了"],
    "medical.collapse": ["有人晕倒了", "路边躺着一个人一动不动", "我爸叫不醒"],
    "medical.bleeding": ["手被切到了，血流不止"],
    "medical.other": ["宝宝吞了一颗纽扣电池", "快叫救护车", "孩子误吃了药"],
    "medical.english": ["someone collapsed and is not breathing"],
    "traffic.crash": ["出车祸了，有人受伤", "我被车撞了", "公交车翻了"],
    "traffic.hit_and_run": ["撞了人就跑了", "肇事逃逸！"],
    "traffic.motorway": ["我的车在高速上抛锚了，停在行车道上"],
    "traffic.english": ["hit and run! he drove off", "I was hit by a car"],
    "fraud.safe_account": ["他让我把钱转到安全账户"],
    "fraud.sent": ["我刚刚转了五万，对方拉黑我了", "我被骗了", "卡里的钱被转走了"],
    "fraud.asked": ["自称警察的人让我下载会议软件", "对方说我涉嫌洗钱"],
    "fraud.english": ["someone told me to move money to a safe account", "I was scammed just now"],
}


def test_every_rule_has_example_phrasings() -> None:
    assert {r.name for r in RULES} == set(RULE_EXAMPLES)


@pytest.mark.parametrize(("rule", "text"), [(r, t) for r, texts in RULE_EXAMPLES.items() for t in texts])
def test_each_rule_catches_its_phrasings(rule: str, text: str) -> None:
    assert rule in [h.rule for h in rule_hits(prepare(text))]
    assert RULES_ONLY(text).urgent


EMERGENCIES: list[tuple[str, UrgentKind]] = [
    # crime, violence, threats, being followed or held
    ("救命 有人在砍人", CRIME),
    ("有人在我家门口砸门，我一个人在家", CRIME),
    ("有個男的一直跟著我，我現在在地鐵站", CRIME),
    ("老公喝醉了拿着菜刀说要砍死我", CRIME),
    ("救明，有人在追我", CRIME),
    ("someone is following me and I'm scared", CRIME),
    ("之前报过警，现在那个人又在门口砸门", CRIME),
    # missing child or elder
    ("孩子不见了！刚才还在小区里玩", MISSING),
    ("我奶奶有阿尔茨海默病，走丢了", MISSING),
    ("孩子找不到了 要等24小时吗", MISSING),
    ("my grandma with dementia wandered off", MISSING),
    # self-harm, of the writer or someone else
    ("我真的不想活了，活着没意思", SELF_HARM),
    ("室友说想自杀，把自己关在房间里", SELF_HARM),
    ("我刚吃了一瓶安眠药", SELF_HARM),
    ("I don't want to live anymore", SELF_HARM),
    # fire, gas, trapped
    ("楼下着火了，好大的烟", FIRE),
    ("闻到很浓的燃气味，是不是泄漏了", FIRE),
    ("電梯困人了", FIRE),
    ("着伙了", FIRE),
    # medical
    ("路边有个大爷倒在地上起不来", MEDICAL),
    ("my dad is unconscious", MEDICAL),
    ("有人暈倒了", MEDICAL),
    # traffic
    ("撞人了，那个车跑了", TRAFFIC),
    ("出車禍了 有人受傷", TRAFFIC),
    ("高速上有辆车停在快车道上，很危险", TRAFFIC),
    # fraud in progress
    ("有个警察说我涉嫌洗钱，让我把钱转到安全账户", FRAUD),
    ("剛剛被騙了五萬", FRAUD),
    ("对方冒充我儿子说出车祸要钱，我刚汇了", FRAUD),
    ("I just transferred money to a scammer", FRAUD),
]


@pytest.mark.parametrize(("text", "kind"), EMERGENCIES)
def test_emergencies_get_their_kind_and_numbers(triage: Triage, text: str, kind: UrgentKind) -> None:
    result = triage(text)
    assert result.kind is kind, result
    assert result.numbers == numbers_for(kind)
    assert result.evidence


CONTROLS = [
    # past events and paperwork
    "上个月被盗了，案子有进展吗",
    "我昨天被人打了，调解什么时候安排",
    "去年被骗了两万，现在还能追回来吗",
    "车祸理赔流程是什么",
    "被打了能索赔多少",
    "以前被家暴过，现在离婚了，户口怎么迁",
    # prevention and "what if"
    "怎么防止孩子走丢",
    "如果遇到抢劫怎么办",
    "万一有人撬门怎么办",
    "怎么识别冒充公安的诈骗电话",
    "燃气灶怎么点不着",
    "what if someone breaks into my house",
    # procedures that mention knives, fire, children, elders, lifts, gas, accidents, transfers
    "孩子的身份证丢了怎么办",
    "我妈的手机丢了，能补卡吗",
    "管制刀具的标准是什么",
    "电梯坏了找谁修",
    "燃气费在哪里交",
    "支付宝转错账了怎么办",
    "追尾了，人都没事，怎么走快速理赔",
    "怎么给孩子办防走失手环",
    # jokes, idioms, news
    "笑死我了，今天的段子",
    "饿死了，附近有什么好吃的",
    "砍价砍了半天",
    "急死了，护照还没办下来",
    "我想死你了，什么时候回来",
    "跳楼价甩卖是真的吗",
    "新闻说有人在地铁站晕倒了",
    "救命稻草是什么意思",
    "this queue is killing me lol",
    "孩子找到了，谢谢民警",
    # a rule's words, but a figure of speech or a question about the service itself
    "这个停车费简直是明抢",
    "麻辣烫辣得我喉咙着火",
    "打120叫救护车要收费吗",
    "骗子打电话叫我转账到安全账户，我直接挂了",
]


@pytest.mark.parametrize("text", CONTROLS)
def test_look_alikes_are_not_emergencies(triage: Triage, text: str) -> None:
    assert not triage(text).urgent, triage(text)


def test_now_outweighs_an_incidental_past_word() -> None:
    assert not said_as_not_now(prepare("救命 有人在砍人 之前也来过"))
    assert said_as_not_now(prepare("之前有人在砍人"))
    assert said_as_not_now(prepare("孩子找到了，虚惊一场"))  # over, whatever the rest says


@pytest.mark.parametrize(
    "text",
    [
        "骗子打电话说我涉案，我没理他",  # averted
        "差点给骗子汇钱，被我儿子拦下来了",
        "我家狗狗走失了，能帮忙发个寻狗启事吗",  # a pet, not a person
        "刷到个视频说有个小区着火了，是真的吗",  # a rumour
        "写论文写得电脑都要敲冒烟了",  # a figure of speech
        "如果在山里迷路了应该怎么求救",  # how to, not now
    ],
)
def test_averted_pets_rumours_and_figures_of_speech_are_not_read_as_emergencies(text: str) -> None:
    assert not RULES_ONLY(text).urgent, RULES_ONLY(text)


def test_a_video_call_from_fake_police_is_still_fraud() -> None:
    assert RULES_ONLY("对方开着视频穿着警服，说我涉嫌洗钱，现在让我下载一个APP").kind is UrgentKind.FRAUD


def test_an_accident_without_injuries_is_paperwork() -> None:
    assert not RULES_ONLY("刚才追尾了，没人受伤").urgent
    assert RULES_ONLY("高速上爆胎了，没人受伤，车停在行车道上").kind is TRAFFIC


def test_every_kind_has_guidance_that_leads_with_its_number() -> None:
    for kind in UrgentKind:
        guidance = GUIDANCE[kind]
        assert guidance.numbers[0] in guidance.zh[:40] or kind is SELF_HARM
        assert all(n in guidance.zh for n in guidance.numbers if n != "12110") or kind is TRAFFIC
        assert guidance_text(kind, "en") == guidance.en
        assert label_of(kind.value) != "紧急"
    assert "24 小时" in GUIDANCE[MISSING].zh and "不需要等" in GUIDANCE[MISSING].zh
    assert CRISIS_LINE in GUIDANCE[SELF_HARM].zh and "陪" in GUIDANCE[SELF_HARM].zh
    assert "不要开关" in GUIDANCE[FIRE].zh and "紧急呼叫按钮" in GUIDANCE[FIRE].zh
    assert "96110" in GUIDANCE[FRAUD].zh and "冻结" in GUIDANCE[FRAUD].zh
    assert label_of(None) == label_of("nonsense") == "紧急"


def test_a_huge_hostile_message_still_gets_the_emergency_first(triage: Triage) -> None:
    text = "你们这些废物警察！！" * 150 + "救命 有人在砍人"
    started = time.perf_counter()
    result = triage(text)
    assert time.perf_counter() - started < 0.5
    assert result.kind is CRIME


@pytest.mark.parametrize("repeat", [20, 50, 300])
def test_the_kind_of_a_cry_after_a_rant_comes_from_the_cry_s_own_sentence(
    triage: Triage, repeat: int
) -> None:
    # "废物" is also how people who want to die speak of themselves: twenty of them before the cry must
    # not make a knife attack a self-harm reply (at 300 the cry is in the message's second part, alone
    # with twenty of them again).
    result = triage("你们这些废物！" * repeat + "救命 有人在砍人")
    assert result.kind is CRIME


def test_a_broken_classifier_falls_back_to_the_rules(triage: Triage, monkeypatch) -> None:
    def broken(_: str):
        raise RuntimeError("boom")

    monkeypatch.setattr(triage._classifier, "predict", broken)
    assert triage("有人晕倒了").kind is MEDICAL
    assert not triage("身份证丢了怎么补办").urgent


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=300), st.binary(max_size=50).map(lambda b: b.decode("latin-1"))))
def test_triage_never_raises(text: str) -> None:
    result = TRAINED(text)
    assert result.kind is None or result.numbers


def test_non_text_is_not_an_emergency() -> None:
    assert not TRAINED(None).urgent  # type: ignore[arg-type]
    assert not TRAINED("").urgent


def test_the_threshold_and_second_kind_share_in_use_are_the_cross_validated_ones() -> None:
    # Cross-validated on what the app fits (bot/wiring.build_triage): the shipped phrasings and the
    # shipped knowledge base's own questions as controls. Each edit of the knowledge base moves the fit a
    # little (0.49 → 0.48 for 250 new questions); a larger drift means they must be chosen again.
    samples = _as_the_app_fits_it()
    results = held_out(samples)
    assert choose_threshold(samples, results=results) == pytest.approx(THRESHOLD, abs=0.02)
    assert choose_also_share(results) == pytest.approx(ALSO_SHARE, abs=0.05)


def test_a_close_second_kind_adds_its_numbers_and_line() -> None:
    crash = TriageResult(TRAFFIC, "p 0.9", (), 0.9, None, FIRE, ALSO_SHARE + 0.01)
    both = with_also(crash)
    assert both.also is FIRE and both.numbers == (*numbers_for(TRAFFIC), "119")
    assert with_also(crash, also_share=0.9).numbers == numbers_for(TRAFFIC)
    # A second kind whose numbers the first already gives adds no number, but still its line.
    robbed = with_also(TriageResult(CRIME, "", (), 0.9, None, FRAUD, 0.8))
    assert robbed.numbers == ("110", "12110", "96110") and robbed.also is FRAUD
    assert guidance_text(TRAFFIC, also=FIRE).startswith(GUIDANCE[TRAFFIC].zh)
    assert "119" in guidance_text(TRAFFIC, also=FIRE)[len(GUIDANCE[TRAFFIC].zh) :]
    assert "119" in guidance_text(TRAFFIC, "en", also=FIRE)[len(GUIDANCE[TRAFFIC].en) :]
    assert guidance_text(FIRE, also=FIRE) == GUIDANCE[FIRE].zh


def test_the_second_kind_budget_is_a_share_of_urgent_replies() -> None:
    # Ten urgent replies whose runner-up came within 0.1..1.0 of the first kind, and ten below the
    # threshold (not replies at all): a 20 % budget admits the two closest (0.9 and 1.0), not a third.
    urgent = [TriageResult(CRIME, "", (), 0.9, None, FIRE, (n + 1) / 10) for n in range(10)]
    quiet = [TriageResult(None, "", (), 0.1, None, FIRE, 1.0)] * 10
    assert 0.8 < choose_also_share(urgent + quiet, threshold=0.5, max_also=0.2) <= 0.9


def test_a_crash_with_a_fire_gives_both_numbers(triage: Triage) -> None:
    result = triage("车撞了还起火了，人卡在里面出不来")
    assert result.kind in (TRAFFIC, FIRE) and {"122", "119"} <= set(result.numbers)


def test_the_knowledge_bases_questions_are_controls_unless_a_rule_calls_them_an_emergency() -> None:
    from bot.core.triage.data import knowledge_controls

    controls = knowledge_controls(["护照能让我妈帮我去领不", "有人在撬我家的门", "护照能让我妈帮我去领不"])
    assert [(c.text, c.kind, c.look_alike) for c in controls] == [("护照能让我妈帮我去领不", None, False)]


def test_the_false_alarm_budget_is_spent_on_look_alikes_only() -> None:

    alike = [Sample(f"look-alike {n}", None) for n in range(10)]
    ordinary = [Sample(f"ordinary {n}", None, look_alike=False) for n in range(90)]
    # Two of ten look-alikes score 0.6: over a 10 % budget unless the threshold is above 0.6; the ninety
    # ordinary questions (all 0.0) must not dilute that to 2 %.
    results = [TriageResult(None, "", (), 0.6 if n < 2 else 0.0) for n in range(10)]
    results += [TriageResult(None, "", (), 0.0)] * 90
    assert choose_threshold(alike + ordinary, max_false_alarms=0.1, results=results) > 0.6


PROXY_QUESTIONS = [
    "叫我弟拿着委托书帮我去办行不行",
    "户口本能让我姐帮我去补不",
    "我在外地上班，驾照能让朋友帮我去换吗",
]


@pytest.mark.parametrize("text", PROXY_QUESTIONS)
def test_asking_who_may_go_for_you_is_not_an_emergency(text: str) -> None:
    assert not TRAINED(text).urgent
    assert TRAINED("对方让我把钱转到安全账户，我刚转了两万").kind is FRAUD


def test_the_shipped_phrasings_cover_every_kind_with_enough_controls() -> None:
    samples = load_phrasings()
    controls = sum(1 for s in samples if s.kind is None)
    assert controls >= 400 and len(samples) - controls >= 400
    for kind in UrgentKind:
        assert sum(1 for s in samples if s.kind is kind) >= 50


def test_the_stacker_weighs_rules_and_cues_the_way_they_point() -> None:
    weights = TRAINED._stacker.explain()  # type: ignore[union-attr]
    assert weights["classifier_logit"] > 0 and weights["rule"] > 0 and weights["now"] > 0
    assert weights["not_now"] < 0 and weights["resolved"] < 0 and weights["hyperbole"] < 0
    assert weights["rule_and_told_as_not_now"] < 0  # a rule counts less in a story told as past or "if"


def test_a_rule_alone_does_not_raise_the_alarm_in_a_figure_of_speech() -> None:
    text = "这价格简直是抢劫"
    assert RULES_ONLY(text).urgent  # the readable rule fires ...
    assert not TRAINED(text).urgent  # ... but the learned weighing does not follow it


def test_homophones_and_pinyin_share_the_sounds_of_the_words() -> None:
    from bot.core.triage.classifier import ngrams

    typed, pinyin = set(ngrams(prepare("着伙了"))), set(ngrams(prepare("huo le")))
    assert {"~huo", "~le", "~huo~le"} <= typed & pinyin


class _Shelf:
    def __init__(self) -> None:
        self.items: dict[str, bytes] = {}
        self.saves = 0

    def load(self, name: str) -> bytes | None:
        return self.items.get(name)

    def save(self, name: str, data: bytes) -> None:
        self.saves += 1
        self.items[name] = data

    def prune(self, prefix: str, keep: int) -> None:
        pass

    def newest(self, prefix: str) -> str | None:
        return next((name for name in reversed(self.items) if name.startswith(prefix)), None)


def test_a_fit_is_kept_and_loaded_and_a_damaged_one_is_fitted_again(monkeypatch) -> None:
    import bot.core.triage as triage_module

    samples = load_phrasings()[::8]  # a set of its own: not fitted in this process yet
    monkeypatch.setattr(triage_module, "_memo", {})
    shelf = _Shelf()
    first = Triage.trained(samples, artifacts=shelf)
    assert shelf.saves == 1 and first("着火了").kind is FIRE
    monkeypatch.setattr(triage_module, "_memo", {})
    second = Triage.trained(samples, artifacts=shelf)  # loaded, not fitted
    assert shelf.saves == 1 and second("着火了").kind is FIRE
    monkeypatch.setattr(triage_module, "_memo", {})
    (name,) = shelf.items
    shelf.items[name] = b"not a pickle"
    third = Triage.trained(samples, artifacts=shelf)
    assert shelf.saves == 2 and third("着火了").kind is FIRE


def test_no_evaluation_message_is_among_the_training_phrasings() -> None:
    import json
    from pathlib import Path

    from bot.core.text import fold

    data = Path(__file__).resolve().parents[2] / "benchmarks" / "data"
    trained = {fold(s.text).replace(" ", "") for s in load_phrasings()}
    for name in (
        "triage_eval.jsonl",
        "triage_fresh.jsonl",
        "triage_blind.jsonl",
        "triage_blind2.jsonl",
        "triage_blind3.jsonl",
    ):
        lines = (data / name).read_text(encoding="utf-8").splitlines()
        texts = [json.loads(line)["text"] for line in lines if line.strip()]
        assert len(texts) >= 300
        leaked = [t for t in texts if fold(t).replace(" ", "") in trained]
        assert not leaked, (name, leaked[:3])


@pytest.mark.parametrize(
    ("text", "over"),
    [
        ("刚刚的纠纷已经调解好了 不用再派人了", True),
        ("煤气味很大，燃气公司上门查过了，现在没问题了", True),
        ("琴日屋企個煤氣爐漏氣，已經叫咗師傅嚟整好咗，冇事喇", True),
        ("老人走丢了一下午，晚上自己回家了", True),
        ("never mind, false alarm", True),
        # Averted: what the caller asked was not done, nothing was lost.
        ("说是快递理赔 要我下个app共享屏幕 我没下 是骗子吧", True),
        ("对方让我报验证码，我没说给他，现在要改密码吗", True),
        ("a guy claiming to be from the bank asked for my pin, I hung up", True),
        ("接到个冒充公安的电话，没任何损失，要不要登记一下", True),
        ("阿嫲琴日跌親入咗醫院，今朝已經出咗院", True),
        ("骗子还在跟我视频 让我马上转钱", False),
        ("他一直在砸门 我不敢开门", False),
        ("火还没灭 快来", False),
        ("我妈晕倒了 叫不醒", False),
    ],
)
def test_a_matter_said_to_be_over_or_in_hand_is_read_as_such(text: str, over: bool) -> None:
    from bot.core.triage.rules import RESOLVED_RE

    assert bool(RESOLVED_RE.search(prepare(text))) is over
