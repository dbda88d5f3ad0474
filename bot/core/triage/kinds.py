"""The kinds of emergency, the numbers each one needs, and what to do in the next minutes.

A resident in danger reads the first lines only: each reply starts with the one action that matters
and the number to call, then the steps, then the rest.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class UrgentKind(enum.StrEnum):
    CRIME = "crime"  # crime in progress, violence, threats, being followed or held, domestic violence now
    MISSING = "missing"  # a child or an elder missing right now
    SELF_HARM = "self_harm"  # suicide or self-harm, of the writer or someone else
    FIRE = "fire"  # fire, smoke, gas smell, someone trapped (lift, water)
    MEDICAL = "medical"  # unconscious, heavy bleeding, overdose, collapse
    TRAFFIC = "traffic"  # road accident with injury, hit-and-run, a car stopped in a motorway lane
    FRAUD = "fraud"  # fraud in progress or money just sent


# The crisis line: the national psychological assistance hotline.
CRISIS_LINE = "12356"


@dataclass(frozen=True, slots=True)
class Guidance:
    numbers: tuple[str, ...]  # the first is the one to call now
    zh: str
    en: str


GUIDANCE: dict[UrgentKind, Guidance] = {
    UrgentKind.CRIME: Guidance(
        ("110", "12110"),
        "【紧急求助】请立即拨打 110 报警。不方便出声时，发短信到 12110 写清地址和情况。"
        "先保护自己：躲到安全的地方、锁好门、往人多有光的地方走，不要和对方纠缠；"
        "记下对方相貌、衣着、车牌和逃跑方向。",
        "[Emergency] Call 110 now. If you cannot speak, text 12110 with the address and what is happening. "
        "Get safe first: lock a door, move towards people and light, do not confront them; note faces, "
        "clothes, plates and the direction they went.",
    ),
    UrgentKind.MISSING: Guidance(
        ("110",),
        "【紧急求助】孩子或老人走失，请立即拨打 110 报警，不需要等 24 小时，越早报警越容易找回。"
        "准备好最近的照片、穿着、身高和最后出现的地点时间；请家人守在原地和家中，"
        "同时就近请商场、小区保安调看监控、在出口守候。",
        "[Emergency] A missing child or elder: call 110 now. There is NO 24-hour wait; the first hour "
        "matters most. Have a recent photo, clothes, height, and where and when they were last seen; keep "
        "someone at home and at that spot, and ask security staff to check cameras and watch the exits.",
    ),
    UrgentKind.SELF_HARM: Guidance(
        ("110", "120", CRISIS_LINE),
        "【紧急求助】您的安全最重要。如果有生命危险，请马上拨打 120 或 110；"
        f"想找人说说话，可以拨打心理援助热线 {CRISIS_LINE}（24 小时）。"
        "如果是身边的人，请陪在他身边，不要让他独处，拿开药物、刀具等危险物品，远离窗台和高处。"
        "我们在这里陪着您，社区民警也已收到消息。",
        "[Emergency] Your safety comes first. If a life is at risk, call 120 or 110 now; to talk to someone, "
        f"call the crisis line {CRISIS_LINE} (24 hours). If it is someone near you, stay with them, do not "
        "leave them alone, move pills and blades away. We are here with you, and the officers know.",
    ),
    UrgentKind.FIRE: Guidance(
        ("119",),
        "【紧急求助】请立即拨打 119。起火冒烟：用湿毛巾捂住口鼻，弯腰沿安全出口撤离，不要乘电梯。"
        "闻到燃气味：不要开关任何电器和灯、不要打电话，轻轻打开门窗，关闭燃气阀门，"
        "马上离开，到室外再拨打 119。"
        "被困电梯：按电梯里的紧急呼叫按钮，拨打电梯内张贴的维保电话或 119，不要扒门。"
        "被困水中：拨打 119 和 110，往高处去。",
        "[Emergency] Call 119 now. Smoke or fire: cover your mouth with a wet cloth, stay low, leave by the "
        "stairs, never the lift. Gas smell: do not switch anything on or off, open the windows, close the "
        "valve, leave, and call 119 from outside. Trapped in a lift: press the lift's emergency button, call "
        "the maintenance number posted inside or 119, do not force the doors.",
    ),
    UrgentKind.MEDICAL: Guidance(
        ("120",),
        "【紧急求助】请立即拨打 120 急救，说清地址、人数和症状。"
        "不要随意搬动伤者；大出血用干净的布用力按压伤口；误服药物请保留药盒一起带去医院；"
        "有人倒地没有反应、没有呼吸，请在 120 指导下做胸外按压，附近有 AED 就让人去取。",
        "[Emergency] Call 120 now with the address and what you see. Do not move the injured; press hard "
        "on heavy bleeding with a clean cloth; keep the pill box for an overdose; if someone is not "
        "breathing, start chest compressions as 120 tells you and send someone for an AED.",
    ),
    UrgentKind.TRAFFIC: Guidance(
        ("122", "110", "120"),
        "【紧急求助】交通事故请立即拨打 122（或 110），有人受伤同时拨打 120。"
        "打开双闪，在车后方放置警告标志（高速公路 150 米以外），人员撤到护栏外；"
        "肇事逃逸请记下车牌、车型、颜色和逃跑方向，保护好现场。",
        "[Emergency] Call 122 (or 110) now, and 120 if anyone is hurt. Hazard lights on, warning triangle "
        "behind the car (150 m on a motorway), everyone behind the barrier. Hit-and-run: note the plate, "
        "model, colour and direction, and keep the scene as it is.",
    ),
    UrgentKind.FRAUD: Guidance(
        ("110", "96110"),
        "【紧急求助】马上停止转账！立即拨打 110 报警（反诈专线 96110），并拨打银行客服要求紧急止付。"
        "刚转出的钱只有在最初几分钟内才可能被冻结。公安机关不会让您把钱转到“安全账户”。"
        "保留聊天记录、转账凭证和对方账号，不要再按对方要求操作。",
        "[Emergency] Stop transferring! Call 110 now (anti-fraud line 96110) and your bank to stop the "
        "payment: a transfer can be frozen only in the first minutes. The police never ask you to move "
        "money to a 'safe account'. Keep the chat, the receipts and their account number.",
    ),
}


def numbers_for(kind: UrgentKind) -> tuple[str, ...]:
    return GUIDANCE[kind].numbers


# One line for a second kind the message may also be (triage's `also`): its number, said after the first
# kind's guidance, so "车撞了还起火了" reads 122 and 119.
ALSO_LINES: dict[UrgentKind, tuple[str, str]] = {
    UrgentKind.CRIME: (
        "如有人正在威胁、伤害您或他人，请同时拨打 110。",
        "If someone is threatening or hurting anyone, call 110 too.",
    ),
    UrgentKind.MISSING: (
        "如有孩子或老人走失，请马上拨打 110，不用等 24 小时。",
        "If a child or an elder is missing, call 110 now; there is no 24-hour wait.",
    ),
    UrgentKind.SELF_HARM: (
        f"如有人想轻生或伤害自己，请陪着他，拨打 120、110 或心理援助热线 {CRISIS_LINE}。",
        f"If someone may harm themselves, stay with them and call 120, 110 or the crisis line {CRISIS_LINE}.",
    ),
    UrgentKind.FIRE: (
        "如有起火、冒烟、燃气味或有人被困，请同时拨打 119。",
        "If there is fire, smoke, a gas smell or someone trapped, call 119 too.",
    ),
    UrgentKind.MEDICAL: (
        "如有人受伤、昏迷或大出血，请同时拨打 120。",
        "If anyone is hurt, unconscious or bleeding heavily, call 120 too.",
    ),
    UrgentKind.TRAFFIC: (
        "如是交通事故，请同时拨打 122，有人受伤拨打 120。",
        "If it is a road accident, call 122 too, and 120 if anyone is hurt.",
    ),
    UrgentKind.FRAUD: (
        "如刚把钱转给了对方，请马上拨打 110 或 96110，并打银行客服紧急止付。",
        "If money was just sent, call 110 or 96110 now and ask your bank to stop the payment.",
    ),
}


def guidance_text(kind: UrgentKind, language: str = "zh", also: UrgentKind | None = None) -> str:
    """The kind's guidance; with `also`, the second kind's line after it."""
    g = GUIDANCE[kind]
    text = g.en if language == "en" else g.zh
    if also is not None and also is not kind:
        zh, en = ALSO_LINES[also]
        text += (" " + en) if language == "en" else zh
    return text


# How officers' posts and the console name each kind.
LABELS: dict[UrgentKind, str] = {
    UrgentKind.CRIME: "人身危险/违法犯罪",
    UrgentKind.MISSING: "儿童或老人走失",
    UrgentKind.SELF_HARM: "自伤自杀风险",
    UrgentKind.FIRE: "火灾/燃气/被困",
    UrgentKind.MEDICAL: "急病受伤",
    UrgentKind.TRAFFIC: "交通事故",
    UrgentKind.FRAUD: "正在被骗/刚转账",
}


def label_of(kind: str | None) -> str:
    """The Chinese label of a stored kind; "紧急" for none or an unknown value."""
    try:
        return LABELS[UrgentKind(kind)] if kind else "紧急"
    except ValueError:
        return "紧急"
