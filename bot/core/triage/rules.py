"""Rules you can read: what residents type when something is happening to them now.

Each rule names one way of saying it. A rule hit stands unless the message is told as past, as a
"what if", as prevention, news or paperwork *and* nothing in it says "now" (正在, 现在, 救命, 快…):
"之前报过警，现在他又在砸门" stays an emergency, "上个月家里被盗了" does not.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from bot.core.triage.kinds import UrgentKind

# Messages are read up to this many characters: an emergency is said early, and it bounds the work.
TRIAGE_CHAR_LIMIT = 2000

# Emoji carry meaning here: 🆘 is a cry for help, 🔥 a fire.
_EMOJI = {
    "🆘": " 救命 ",
    "🔥": " 着火 ",
    "🚒": " 着火 ",
    "🧯": " 着火 ",
    "🔪": " 拿刀 ",
    "🗡": " 拿刀 ",
    "🔫": " 拿枪 ",
    "🚑": " 急救 ",
    "🩸": " 流血 ",
    "🚨": " 紧急 ",
}
_EMOJI_RE = re.compile("|".join(map(re.escape, _EMOJI)))

# Typos, homophones and dialect words folded to the word the rules know. Only spellings that mean
# nothing else: 舅舅我 is an uncle, so 救救我 is not repaired from it.
_VARIANTS = {
    "救命": (
        "就命",
        "久命",
        "旧命",
        "纠命",
        "揪命",
        "救明",
        "救鸣",
        "救名",
        "救冥",
        "求命",
        "救蒙",
        "jiuming",
        "jiu ming",
    ),
    "救救我": ("就就我", "究究我", "jiujiuwo"),
    "着火": ("著火", "着伙", "着货", "招火", "zhaohuo", "失伙", "火烛"),
    "煤气": ("煤汽", "媒气", "没气味", "梅气", "燃汽", "燃起味"),
    "报警": ("抱警", "包警", "报井", "bao jing", "baojing"),
    "抢劫": ("枪劫", "抢结", "抢截", "打劫"),
    "绑架": ("帮架", "绑价"),
    "跳楼": ("跳搂", "跳篓"),
    "自杀": ("自刹", "zisha"),
    "不见了": ("唔见咗", "唔见左", "冇咗", "不见咯", "不见啦", "找唔到", "搵唔到", "寻不到", "寻不着"),
    "小偷": ("贼娃子", "贼仔", "毛贼", "小透"),
    "砍人": ("斩人", "劈人"),
    "孩子": ("细路", "细佬", "伢子", "娃儿", "娃娃", "娃子", "崽崽"),
    "家里": ("屋头", "屋里头", "屋企", "屋里"),
    "在": ("喺",),
    "入室": ("爆格",),
    "电梯": ("电题", "升降机", "lift", "elevator"),
}
_VARIANT_TO = {v: k for k, vs in _VARIANTS.items() for v in vs}
_VARIANT_RE = re.compile("|".join(map(re.escape, sorted(_VARIANT_TO, key=len, reverse=True))))

# Words that look violent but are jokes, prices or idioms: removed before the rules read the text.
_IDIOMS_RE = re.compile(
    r"《[^》]{0,30}》|救命(稻草|恩人|之恩)|(笑|饿|累|困|热|冷|急|气|烦|吓|馋|美|忙|丑|穷|痛|疼|尴尬|无聊|羡慕|难受)(死|到死|得要死|得想死)(我|人|了|啦|啊)*"
    r"|想死(你|您|大家)|死机|(打|点)不着火|打死(我)?也不|打死(我)?都不|杀价|砍价|杀毒|杀青|秒杀|杀熟|杀时间|抢票|抢红包|抢购|抢车位|抢镜|抢答"
    r"|跳楼价|跳楼甩卖|跳楼大甩卖|火锅|火车|上火|发火|火爆|火腿|火热|火星|火候|恼火|窝火"
    r"|要命的|要了我的命|笑出|(开|写|忙|累|烦|无聊|热|冷|饿|困)得?我?想死|killing me|dying to|dying of laughter|dying laughing|dead tired|i'?m dead lol|lol"
)

_SPACES_RE = re.compile(r"\s+")
_CJK_SPACE_RE = re.compile(r"(?<=[^\x00-\x7f]) | (?=[^\x00-\x7f])")


def prepare(text: str, *, idioms: bool = True) -> str:
    """Folded text for the rules and the classifier: width, case, script, emoji, typos, idioms (kept
    with `idioms=False`)."""
    folded = _fold(text)
    return _tidy(_IDIOMS_RE.sub(" ", folded) if idioms else folded)


def prepare_both(text: str) -> tuple[str, str]:
    """`prepare(text)` and `prepare(text, idioms=False)`, folding the text once."""
    folded = _fold(text)
    return _tidy(_IDIOMS_RE.sub(" ", folded)), _tidy(folded)


def _fold(text: str) -> str:
    from bot.core.text import to_simplified

    text = text[:TRIAGE_CHAR_LIMIT]
    text = _EMOJI_RE.sub(lambda m: _EMOJI[m.group(0)], text)
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)
    text = to_simplified(text).lower()
    return _VARIANT_RE.sub(lambda m: _VARIANT_TO[m.group(0)], text)


def _tidy(text: str) -> str:
    return _CJK_SPACE_RE.sub("", _SPACES_RE.sub(" ", text).strip())


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    kind: UrgentKind | None  # None: a cry for help that does not say what; the kind comes from elsewhere
    pattern: re.Pattern[str]


def _rule(name: str, kind: UrgentKind | None, pattern: str) -> Rule:
    return Rule(name, kind, re.compile(pattern))


# Between a person and what happened to them: a few characters, none of which make it about a thing
# (孩子的身份证丢了, 我妈手机不见了).
_GAP = r"[^证卡照包机本票钥匙车牌狗猫钱书号码币款件货单]{0,20}?"
_GONE = (
    r"(不见了|不见人|丢了|走丢|走失|失踪|找不到了|找不到人|找不着了|找不见|不知道去哪|不知去向|没回来|没回家|"
    r"还没回|一直没回|被抱走|被拐|被.{0,6}(带走|抱走|拐走|领走)|抱走|拐走|抢走了|联系不上|跑丢|人没了|没影了|不见踪影|离家出走|走散|跑出去|没到家|还没到家"
    r"|找不到(妈妈|爸爸|家长|家人|大人|家|回家的路))"
)
_KID = r"(孩子|小孩|小朋友|儿子|女儿|闺女|宝宝|宝贝|孙子|孙女|外孙|外孙女|崽|仔|侄子|侄女|学生|娃|伢)"
_ELDER = (
    r"(老人|爸爸|妈妈|老父亲|老母亲|老爷子|老太太|老太|老头|爷爷|奶奶|外公|外婆|姥姥|姥爷|我爸|我妈|老爸|老妈|父亲|母亲|阿婆|阿公|"
    r"阿爷|阿嬷|阿嫲|婆婆|公公|老伴|老人家|痴呆|糊涂|阿尔茨海默|阿尔兹海默|失智)"
)

RULES: tuple[Rule, ...] = (
    # ---- a cry for help that does not say what ------------------------------------------------
    _rule(
        "help.cry",
        None,
        r"(?<![喊叫听呼])(救命|救救我|救我|快来人|来人啊|来人呀|求救)|(传来|听到|有人在).{0,6}(呼救|喊救命|惨叫|尖叫)"
        r"|有坏人|有歹徒|有流氓|坏人在|(?<![a-z])(help (me|us|please)|please help|need help|sos)(?![a-z])|^help\W*$",
    ),
    _rule(
        "help.report",
        None,
        r"(快|赶紧|赶快|马上|帮我|帮忙|替我|请)(帮我)?(报警|打110|叫警察)|call (the )?police",
    ),
    # ---- crime in progress, violence, threats --------------------------------------------------
    _rule(
        "crime.attack",
        UrgentKind.CRIME,
        r"有(个|一个|几个|一群|一伙)?(人|男的|女的|醉汉|疯子|歹徒|陌生人).{0,6}(打我|打人|砍|捅|杀|抢|撬|砸|闯|拿刀|持刀"
        r"|拿着刀|拿棍|拿枪|掐|踹门|追我|追着|堵我|围着我|动手|非礼|摸我)"
        r"|被.{0,5}抢(了|走)|被(?!电).{0,6}(打|砍|捅|揍|刺|扎|砸)(了|伤|破|倒)|围(上来|过来|住我).{0,6}(要钱|抢|打)|被(人)?堵|围着我|围住我|不给就(打|砍|杀)"
        r"|(在|正在)(打人|砍人|杀人|捅人|抢人|行凶|闹事|砸车|砸店|耍酒疯)|打人了|杀人了|砍人了|行凶|(醉汉|疯子|有人|一个人|男的|女的|几个人).{0,10}(打人|砍人|捅人|杀人)|(拉|拽|抢)(走)?(小孩|孩子)",
    ),
    _rule(
        "crime.hit_me",
        UrgentKind.CRIME,
        r"(打|揍|掐|砍|捅|踢|杀|勒|追|砸|踹)(死)?(我|孩子|我妈|我爸|我儿子|我女儿|我老婆|我老公)(?!们的)"
        r"|(要|想|说要|扬言|威胁).{0,4}(杀了?我|弄死我|砍死我|打死我|整死我|捅死我|杀了?我全家|弄死你|砍死你|杀了?你)",
    ),
    _rule(
        "crime.threat",
        UrgentKind.CRIME,
        r"(威胁|恐吓|勒索|敲诈)(我|要|说)|扬言|(堵|守|蹲)(在)?(我家)?门口|在门口.{0,6}(砸|踹|骂|堵|敲|撬|转悠|徘徊)|拧门把手|门外.{0,8}(转悠|徘徊|偷看|守着|蹲着)",
    ),
    _rule(
        "crime.burglary",
        UrgentKind.CRIME,
        r"撬门|撬锁|撬窗|撬我|在撬|翻窗|爬窗|闯进|闯入|冲进|破门|砸门|踹门|进贼|进了贼|有贼|遭贼|遭了贼|闹贼|有小偷|小偷在|贼在"
        r"|入室|在偷|家里.{0,4}(被盗|被偷|被撬|被翻)|有人.{0,4}(进了?|在)(我|我们)?家(?!门口|门外|附近|楼|对面|旁边)",
    ),
    _rule(
        "crime.weapon",
        UrgentKind.CRIME,
        r"(拿|持|拎|举|掏出|掏|带着|挥|挥舞|提着|拿着)(着|了)?(一把|把)?(刀|菜刀|砍刀|匕首|刀子|水果刀|枪|棍|铁棍|棒|斧|砖|锤|管制刀具)"
        r"|动刀|动刀子|亮刀|开枪|枪声",
    ),
    _rule(
        "crime.robbery",
        UrgentKind.CRIME,
        r"抢劫|抢钱|抢包|抢手机|抢东西|抢我|被抢|劫持|绑架|绑走|被绑|强奸|性侵|猥亵|非礼|偷拍我|掐脖子|被(人)?(摸|偷拍)|(一直|老是|在)摸我|摸我(大腿|屁股|胸|腿)",
    ),
    _rule("crime.follow", UrgentKind.CRIME, r"跟踪|尾随|跟着我|跟在我(后面|身后)|一直跟|被跟|盯上我|有人跟"),
    _rule(
        "crime.domestic",
        UrgentKind.CRIME,
        r"家暴|家庭暴力|(老公|丈夫|男人|老婆|爸爸|我爸|继父|后爸|前夫|男朋友|男友|女友|儿子).{0,6}(打我|打孩子|揍我|掐我|打我妈|拿刀)",
    ),
    _rule(
        "crime.fight",
        UrgentKind.CRIME,
        r"打架(?!子鼓)|打群架|斗殴|群殴|互殴|打起来了|干起来了|干仗|打成一团|见血了|持械",
    ),
    _rule(
        "crime.held",
        UrgentKind.CRIME,
        r"被关|关起来|关着我|被锁在(屋|房间|里面|家里|车里|厕所|仓库)|锁在屋|不让我走|不让我出|不让我下车|不让我离开|限制.{0,2}自由|被控制|被扣(押|留|在)|扣押我|囚禁|拘禁"
        r"|传销.{0,6}(出不来|不让|被控制|扣|关)|被困传销",
    ),
    _rule(
        "crime.english",
        UrgentKind.CRIME,
        r"break(ing)? in|broke in|breaking into|burglar|intruder|robb(ed|ing|ery)|mugg|knife|(?<![a-z])gun|stabb?(ed|ing)?"
        r"(?![a-z])|attack(ing|ed)? me|hitting me|beating me|hit me|follow(ing|ed) me|stalk|threaten|kidnap|domestic violence"
        r"|someone.{0,20}(my house|outside my door|in my (house|home|flat|room))|assault|rape|machete|(?<![a-z])axe(?![a-z])|weapon|grop",
    ),
    # ---- a missing child or elder ---------------------------------------------------------------
    _rule("missing.child", UrgentKind.MISSING, _KID + _GAP + _GONE),
    _rule("missing.elder", UrgentKind.MISSING, _ELDER + _GAP + _GONE),
    _rule(
        "missing.person",
        UrgentKind.MISSING,
        r"人(不见了|丢了|走丢了|失踪了|找不到了)|走失了|走丢了|失踪了|被拐了|被拐走",
    ),
    _rule(
        "missing.english",
        UrgentKind.MISSING,
        r"(lost|can'?t find|cannot find|took|taken) (my|our|a|the) (little )?(son|daughter|kid|child|boy|girl|baby|mum|mom"
        r"|mother|dad|father|grandma|grandpa|grandmother|grandfather)|(son|daughter|kid|child|boy|girl|baby|mum|mom"
        r"|mother|dad|father|grandma|grandpa|grandmother|grandfather).{0,40}((is|got|was|are|went|gone) (missing|lost)"
        r"|disappeared|wandered off|is gone|not come home|hasn'?t come home)|'s missing|is missing|went missing|gone missing",
    ),
    # ---- self-harm, suicide -----------------------------------------------------------------------
    _rule(
        "self_harm.words",
        UrgentKind.SELF_HARM,
        r"不想活|活不下去|活不成|活着没意思|活着没意义|活着没劲|活着有什么意思|没有活下去|不如死了|想死|想去死|寻死|轻生|自杀|自尽"
        r"|了结自己|结束(自己的|我的)?生命|结束这一切|一了百了|想解脱|不想再活|活够了|去另一个世界|撑不下去了|自残|割腕|割自己"
        r"|伤害自己|遗书|遗言|上吊|烧炭|跳下去|死了算了|去死算了|死了就好|不活了|活腻了|别救我|要去死|想去死|去寻死|永别"
        r"|活着.{0,6}(没意思|没意义|没有意义|没有任何意义|好累|太累|没劲)|想结束(掉)?(自己|生命|一切)|今晚(就)?想结束"
        r"|割.{0,2}手腕|割脉|买好了?(炭|绳子|安眠药|农药)|(药|绳子|炭).{0,3}都?准备好了|准备好了?(炭|绳子|安眠药|农药)",
    ),
    _rule(
        "self_harm.means",
        UrgentKind.SELF_HARM,
        r"(要|想|准备|打算|说要|说想|站在|爬上|坐在).{0,6}(跳楼|跳河|跳江|跳桥|跳湖|跳海|跳下|楼顶|天台|窗台|桥上|栏杆外)"
        r"|(吃|吞|喝|服)(了|下)?.{0,6}(安眠药|一瓶药|整瓶|一把药|好多药|很多药|农药|老鼠药|百草枯|敌敌畏|药自|药想)"
        r"|喝了药|喝农药|吞药|服毒|吞(了|下).{0,4}药"
        r"|(好像|说|想|准备|要)要?跳(?!舞|绳|槽|高|远|操)|(楼顶|天台|窗台|桥|阳台)(上|边上|边).{0,8}(要跳|想跳|坐着|站着|哭)",
    ),
    _rule(
        "self_harm.english",
        UrgentKind.SELF_HARM,
        r"kill (my|him|her)self|suicid|want(s)? to die|wanna die|end (my|his|her) life|end it all|overdos|took .{0,12}pills"
        r"|swallowed .{0,12}pills|jump off|self[- ]harm|cut(ting)? myself|don'?t want to live|no reason to live",
    ),
    # ---- fire, smoke, gas, trapped -----------------------------------------------------------------
    _rule(
        "fire.fire",
        UrgentKind.FIRE,
        r"着火|起火|失火|发生火灾|火灾了|有火灾|着大火|火(好|很|太|越来越)大|都是火|全是火|一片火|自燃|火花|有烟|全是烟|都是烟|满屋.{0,2}烟|烧起来|烧着了|火烧|大火|冒烟|浓烟|黑烟|烟很大|好大的烟|好大烟|烟好大|火苗|火光|火势|火警|爆炸了|炸了.{0,4}(火|烟)"
        r"|(?<![a-z])(fire|smoke|burning)(?![a-z])",
    ),
    _rule(
        "fire.gas",
        UrgentKind.FIRE,
        r"(煤气|燃气|天然气|液化气|石油气|瓦斯|煤气罐).{0,4}(味|泄漏|泄露|漏了|漏气|爆)|(闻到|好大|很大|很浓|一股|好重|很重|好浓).{0,4}(煤气|燃气|天然气|液化气)"
        r"|gas (leak|smell)|smell.{0,30}gas",
    ),
    _rule(
        "fire.trapped",
        UrgentKind.FIRE,
        r"(困在|关在|卡在|被困|困住|出不来|卡住|锁在).{0,6}(电梯|火场|水里|山上|井里)|(孩子|小孩|宝宝|婴儿).{0,4}(锁|关|困)在车(里|内)"
        r"|电梯.{0,8}(困|卡住|卡在|关住|出不来|停住|突然停|掉下|坠|下坠|急停|门打不开|里面有人)"
        r"|(stuck|trapped)(?![a-z])",
    ),
    _rule(
        "fire.water",
        UrgentKind.FIRE,
        r"落水|溺水|掉进.{0,6}(水|河|湖|池塘|塘|井|海|江)|掉(到|进)?(池塘|水塘|河|湖|江|海)里|掉进水|掉进河|掉河里|掉水里|掉湖里|被水冲|冲走了|水淹了?(车|人)|被水淹|掉进井|掉井里|drown|fell into",
    ),
    # ---- medical -----------------------------------------------------------------------------------
    _rule(
        "medical.collapse",
        UrgentKind.MEDICAL,
        r"晕倒|昏倒|昏迷|晕过去|晕了过去|倒地|倒在地|倒在路|躺在地上不动|躺着一个人|躺着个人|摔倒.{0,4}(起不来|不动|没反应)"
        r"|不动了|一动不动|没有?反应|没意识|叫不应|喊不应|一直抽|抽筋|不省人事|叫不醒|喊不醒|没呼吸|没有呼吸|不喘气|心脏骤停|心跳停|抽搐|口吐白沫|休克|脸色发紫",
    ),
    _rule(
        "medical.bleeding",
        UrgentKind.MEDICAL,
        r"大出血|流了很多血|流了好多血|好多血|很多血|血流不止|流血不止|一直流血|止不住血|血止不住|喷血|吐血|一地血|满地血|满身血|满脸血",
    ),
    _rule(
        "medical.other",
        UrgentKind.MEDICAL,
        r"(?<![机脑])中毒|吃错药|误服|误食|误吃|误吞|喘不上气|呼吸困难|上不来气|心脏病发|心梗|中风|脑梗|噎住|卡住喉咙|卡喉咙|触电|被电(到|击|打)|吃东西卡住|卡住了.{0,6}(说不出话|喘不|憋)|憋(红|紫)了|说不出话"
        r"|(大面积|一大片|严重|很严重).{0,4}(烫伤|烧伤)|(烫伤|烧伤).{0,6}(一大片|大面积|很严重|起泡|皮都掉)|骨折.{0,6}(变形|露出|流血|动不了)"
        r"|吞了.{0,8}(电池|磁铁|硬币|异物|钉|针|鱼刺)|(吃|吞|喝)了.{0,8}(药|药片).{0,6}(好几|很多|一把|一瓶|一盒)|喝了.{0,4}(洗洁精|消毒液|84|洗衣液|酒精|汽油|农药)"
        r"|要生了|羊水破了|叫救护车|快叫120|打120|要急救|需要急救|急救车|叫急救",
    ),
    _rule(
        "medical.english",
        UrgentKind.MEDICAL,
        r"unconscious|not breathing|collapsed|passed out|fainted|bleeding|heart attack|stroke|seizure|ambulance"
        r"|can'?t breathe|choking|poison",
    ),
    # ---- road accidents ----------------------------------------------------------------------------
    _rule(
        "traffic.crash",
        UrgentKind.TRAFFIC,
        r"车祸|撞车|追尾|翻车|撞人|撞了人|撞了个人|撞到人|被车撞|被撞(了|倒|伤|飞|到)|(撞|刮|碰|剐)倒|撞飞|碾|压到人|侧翻|掉沟里|冲下|连环撞|相撞|撞在一起|撞一起"
        r"|车.{0,4}撞了|撞上了|(出|发生)了?.{0,2}事故|撞了?(行人|孩子|老人|小孩)|被.{0,6}车.{0,2}(压|碾|撞)"
        r"|(车|公交|货车|大巴|三轮|电动车|摩托|电瓶车).{0,3}翻了",
    ),
    _rule(
        "traffic.hit_and_run",
        UrgentKind.TRAFFIC,
        r"肇事逃逸|逃逸|撞.{0,8}就跑|撞完就跑|撞.{0,6}(跑了|逃了|开走了)|开车跑了",
    ),
    _rule(
        "traffic.motorway",
        UrgentKind.TRAFFIC,
        r"高速.{0,10}(停在|抛锚|坏了|故障|事故|爆胎|没油|逆行|行车道|车道上)|(应急车道|行车道|车道上).{0,6}(停|坏|抛锚)",
    ),
    _rule(
        "traffic.english",
        UrgentKind.TRAFFIC,
        r"car (crash|accident)|(?<![a-z])crash|hit by a (car|truck|bus|van)|hit and run|hit-and-run|run over|motorway|highway.{0,20}(broke|stopp|stuck)",
    ),
    # ---- fraud in progress ---------------------------------------------------------------------------
    _rule(
        "fraud.safe_account",
        UrgentKind.FRAUD,
        r"安全账户|安全帐户|安全帳户|国家账户|监管账户|资金清查|资金核查",
    ),
    _rule(
        "fraud.sent",
        UrgentKind.FRAUD,
        r"(刚|刚刚|刚才|才|已经|一下子|不小心).{0,8}(转|汇|打|付|充|交)(了|过去|出去)?.{0,10}(钱|款|万|千|元|块|过去|账|费|金)"
        r"|已经(转|付|汇|打)了|(把|将)(钱|存款|积蓄|养老钱).{0,4}(转|汇|打)给|(钱|余额|存款).{0,4}(被转走|没了|不见了|被划走|少了)|被盗刷|被扣款|被划走|划走了|被扣走"
        r"|(汇款|转账|转钱|打钱)给骗子|(正在|在)银行.{0,10}(汇|转|取)|出(了)?(事|车祸).{0,4}(要钱|打钱|转钱|汇钱)"
        r"|卡号发给|卡密发给|(快|赶紧|马上|帮我).{0,4}(冻结|止付)"
        r"|(刚|刚刚|刚才|已经|好像|可能|我|妈|爸).{0,4}被骗|被骗了|骗了我|骗走|上当了",
    ),
    _rule(
        "fraud.asked",
        UrgentKind.FRAUD,
        r"(让我|要我|叫我|逼我|催我|教我).{0,10}(转账|汇款|打钱|转钱|转到|转走|取出来|取钱|下载|共享屏幕|屏幕共享|开会议|视频会议|验证码|贷款|刷单|充值|买卡)"
        r"|(冒充|自称|说是).{0,6}(公安|警察|检察|法院|客服|领导|老师|医保)|(正在|在)(转账|汇款)|涉嫌洗钱|通缉令|配合调查|不许(跟|告诉)|不要告诉(家人|别人|任何人)|卷入.{0,6}案|去酒店开房",
    ),
    _rule(
        "fraud.english",
        UrgentKind.FRAUD,
        r"safe account|scam|fraud|transferr?(ed|ing)? .{0,30}(money|yuan|rmb|to them|to him|to her)|sent .{0,20}(money|yuan)",
    ),
)

# ---- "now" versus "not now" ------------------------------------------------------------------------

NOW_RE = re.compile(
    r"现在(就|正|又|还在|在|有人|他|她|他们|那个人|人|被|对方|门口|楼下|家里|外面|车上)|正在|此刻|刚刚|刚才|马上|立刻|赶紧|赶快|快点"
    r"|快来|急急|还在(门口|外面|楼下|家|我家|里面|车上|追|打|砸|跟|那|旁边|这|喊|流|吐|抽)|就在|在线等|眼下|这会|此时|今晚|今天|刚|突然|已经(转|汇|付|打|吞|吃|喝|填|给|点|下载)|"
    r"(?<![喊叫听呼])救命|救救我|救我|快报警|帮我报警|(?<!怎么)(?<!如何)(?<!怎样)求救|right now|(?<![a-z])now(?![a-z])|just now|help|sos|urgent|hurry|please come"
)
NOT_NOW_RE = re.compile(
    # told as past
    r"昨天|昨晚|前天|前晚|上周|上星期|上个月|上月|去年|前年|前几天|前阵子|前段时间|几天前|几年前|几个月前|以前|曾经|当时|那天|那次"
    r"|上次|小时候|当年|后来|已经过去|早就|之前|(丢|失|骗|偷|打|抢|撞|困|跟踪|家暴)过(?![来去])|幸好|报过警|报了警|报过案|(年|个月|天|周|星期)前(?!面)|过去了?.{0,4}(天|周|月|年)"
    r"|last (year|month|week|night)|yesterday|(years?|months?|weeks?|days?) ago"
    # "what if"
    r"|如果|万一|假如|假设|要是|倘若|一旦|若是|遇到.{0,12}(怎么办|怎么处理|该怎么|应该)|碰到.{0,12}(怎么办|该怎么)|遭遇.{0,8}怎么办"
    r"|(的时候|时)(应该|该|要|怎么|如何)|what if|(?<![a-z])if (i|you|someone|my)|in case"
    # prevention, knowledge
    r"|怎么防|如何防|怎样防|防范|预防|防止|避免|提防|注意什么|注意事项|安全知识|安全教育|宣传|讲座|演练|培训|科普|常识|知识|技巧"
    r"|识别|辨别|分辨|特征|区别|有什么不同|什么意思|啥意思|作业|学校布置|手抄报|案子|怕.{0,2}(着火|起火|出事|被)|担心|以防|会不会|套路|手法|骗局|防(溺水|火|盗|骗|诈|身|拐|走失|暴)|手环|不被拐|防丢|学习|学一下|了解一下|想了解|怎么考|考证|报名"
    r"|判几年|判多久|怎么判|判刑|罪名|什么罪|构成.{0,4}罪|犯罪吗|量刑|索赔|赔多少|立案标准|法律规定|处罚|罚多少|证据|取证|隐患|(?<!不是)开玩笑|(?<!不是开)玩笑|哈哈|hhh|😂|🤣"
    r"|什么是|是什么意思|哪些手段|有哪些|how (to|do i|can i)|prevent|tips|safety|is it safe|insurance|drill|training|course|what number|which number"
    # news, stories
    r"|新闻|报道|电视|电影|电视剧|小说|剧里|剧情|听说|据说|网上看到|新闻上看到|朋友圈|游戏里|梦见|梦到|做梦|写作文|作文|考试题"
    r"|纪录片|文章|书里|课上|节目"
    r"|in the news|movie|film|novel|a story|a game|dream"
    r"|(刷到|看到|看了).{0,6}视频|视频(里|上|说)|短视频|刷到|微博|群里(传|说)|旧闻|是真的吗|动画片|灾难片|历史课|综艺"
    r"|short video|on tiktok|rumou?r"
    # a pet or a thing, not a person; figures of speech
    r"|(猫|狗狗?|宠物|鹦鹉|兔子|cat|dog|pet|puppy|kitten).{0,8}(走失|丢了|不见了|跑丢|跑了|missing|lost|gone)"
    r"|原地爆炸|敲冒烟|写冒烟|冒烟了.{0,4}(赶|写|敲)|抢.{0,6}抽筋|救救我的(头发|头發|頭髮|成绩|钱包|发际线)|(视频|帖子|文章)火了|火了火了"
    # a complaint or a question of who pays, not a danger
    r"|怎么投诉|管不管|谁负责|谁出|谁来赔|停车费"
    # paperwork after the event
    r"|补办|办理|手续|进度|立案|回执|报案证明|开证明|调解|赔偿|理赔|保险|起诉|法院判|律师|怎么查询|处理结果|结案|案件进展|退赃"
    r"|消防检查|年检|罚款|扣分|违章|驾照|申请|保护令|怎么认定|鉴定|多久能|多长时间|流程|材料"
)
# It is over: whatever else the message says, nobody needs the emergency numbers now.
RESOLVED_RE = re.compile(
    r"已经没事|没事了|误会了|是误会|虚惊|(已经|终于)?找到了(?!一个|个)|找回来了|平安到家|is fine now|found (him|her|them)"
    # averted: nothing was sent, nobody was let in
    r"|差点.{0,12}(被我|拦)|被我拦|拦下来了|我拒绝了|我没理|没理(他|她|它|对方)|没(有)?转(账|钱)|(我|就)?挂了电话|挂断了|(直接|马上|立马|我就|就)挂了"
    r"|didn'?t (send|transfer|pay)"
    # ... nor done what the caller asked: no download, no link, no code given, nothing lost
    r"|(我|就|并|都)没(有)?(开门|下载|下|弄|点|按|填|扫|上当|被骗|受骗|理会|汇|付)|没(给|说)给?(他|她|对方|验证码|任何)"
    r"|没(有)?(任何)?损失|幸好|还好我|好彩"
    r"|hung up|hang up|blocked (him|her|them|it|the)|didn'?t (click|open|give|download)"
    # over, or already in hands: put out, mended, seen by a doctor, home again, the police already there
    r"|没问题了|处理好了|解决了|修好了|(已经|早)?(灭了|扑灭)|送(到)?医院了|出院了|好多了|缓过来了|醒过来了|不疼了"
    r"|(已经|自己)回(来|家)了|调解好了|不用(再)?派人|不用来了|(民警|警察)(已经|现在)?(就)?在(我家|这|现场)|已经拉黑|拉黑了"
    r"|冇事(喇|了|啦)?|搞掂|整好咗|出咗院|fine now|ok now|all good|false alarm|never ?mind|nvm"
)
# An accident where nobody is hurt is paperwork (快处快赔), not an emergency.
NO_INJURY_RE = re.compile(
    r"(狗|猫|宠物)被|伤得不重|不严重|没人受伤|没有人受伤|无人受伤|人没事|人都没事|都没事|没受伤|小剐蹭|剐蹭|刮蹭|快处快赔|擦了一下|no one (was )?(hurt|injured)"
)


@dataclass(frozen=True, slots=True)
class RuleHit:
    rule: str
    kind: UrgentKind | None
    at: int = 0  # where in the prepared text the rule matched


# Which kind wins when a message says several things: the one whose first number matters most.
PRIORITY: tuple[UrgentKind, ...] = (
    UrgentKind.SELF_HARM,
    UrgentKind.MISSING,
    UrgentKind.FIRE,
    UrgentKind.FRAUD,  # before traffic and crime: "冒充我儿子说出了车祸要钱" is the fraud
    UrgentKind.TRAFFIC,
    UrgentKind.CRIME,
    UrgentKind.MEDICAL,
)


# A message of nothing but cries, alarm words or emergency numbers ("救命 救命 救命", "火！火！", "120
# 120", "🆘🆘"): there is no story, joke or question around them that could say it is not one. The
# learned weighing reads 救命 beside hot pot or a game as a figure of speech; bare, it is always raised.
_BARE_FIRE = ("着火", "失火", "起火", "火灾", "火", "119")
_BARE_MEDICAL = ("急救", "救护车", "120")
_BARE_TOKEN_RE = re.compile(
    r"救救我|救救|救命|救我|求救|快来人|来人啊|来人呀|来人|help|sos|报警|紧急|"
    + "|".join(_BARE_FIRE + _BARE_MEDICAL)
    + r"|110|122"
)
_BARE_FILLER_RE = re.compile(r"[\W_]|啊|呀|哇|了|啦|吧|呢|哦|快点|快|急|速来|me|us|please|pls")
_LAUGHING_RE = re.compile(r"[😂🤣😅😆😹😝😜🤪]")


BARE_CHAR_LIMIT = 40


def bare_alarm(text: str, folded: str | None = None) -> UrgentKind | None:
    """The kind of a message that is only a cry or an alarm (see above), else None. Read with its
    figures of speech kept ("help lol" is not bare; `folded`: the text so prepared, when the caller
    has it), and one 火 alone is not one: "火了" also says a video went viral."""
    if len(text) > 4 * BARE_CHAR_LIMIT:
        return None
    if folded is None:
        folded = prepare(text, idioms=False)
    if len(folded) > BARE_CHAR_LIMIT:
        return None
    tokens = _BARE_TOKEN_RE.findall(folded)
    if not tokens or tokens == ["火"] or _LAUGHING_RE.search(folded):
        return None
    if _BARE_FILLER_RE.sub("", _BARE_TOKEN_RE.sub("", folded)):
        return None
    if any(t in _BARE_FIRE for t in tokens):
        return UrgentKind.FIRE
    if any(t in _BARE_MEDICAL for t in tokens):
        return UrgentKind.MEDICAL
    return UrgentKind.TRAFFIC if "122" in tokens else UrgentKind.CRIME


def rule_hits(prepared: str) -> list[RuleHit]:
    hits = [RuleHit(r.name, r.kind, m.start()) for r in RULES if (m := r.pattern.search(prepared))]
    if hits and NO_INJURY_RE.search(prepared):
        hits = [h for h in hits if h.kind is not UrgentKind.TRAFFIC or h.rule == "traffic.motorway"]
    return hits


def said_as_not_now(prepared: str) -> bool:
    """Told as past, hypothetical, prevention, news or paperwork, with nothing saying "now"; or over."""
    return told_as_not_now(
        bool(NOW_RE.search(prepared)), bool(NOT_NOW_RE.search(prepared)), bool(RESOLVED_RE.search(prepared))
    )


def told_as_not_now(now: bool, not_now: bool, resolved: bool) -> bool:
    """said_as_not_now from cues already looked for (the stacker has all three)."""
    return resolved or (not_now and not now)


def strongest(hits: list[RuleHit]) -> RuleHit | None:
    """The hit whose kind comes first in PRIORITY; a cry for help without a kind comes last."""
    ranked = [h for h in hits if h.kind is not None]
    if ranked:
        return min(ranked, key=lambda h: PRIORITY.index(h.kind))  # type: ignore[arg-type]
    return hits[0] if hits else None
