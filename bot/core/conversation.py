"""Reading a message as part of a conversation, the way a 窗口民警 does.

What a message alone cannot say, the conversation can: "要多少钱" after the passport card asks for the
passport's fee; "临时的呢" after the lost-ID card asks about the temporary ID; "第二个" after a "did
you mean" list picks its second entry. This module holds the text side of that: which part of an
answer a message asks for, whether anything of its own is left once the follow-up words are taken out,
how a list is picked by words, and where one message holds several questions. What the matcher makes
of the words is the service's business (bot/services/ask.py); nothing here guesses a topic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.models import Entry
from bot.core.text import CJK_CLASS, NON_WORD_RE, fold

# Silence after which the last topic no longer counts: a question half an hour later is a new one.
EXPIRES_AFTER = timedelta(minutes=30)
# Several questions in one message are answered up to this many; the rest is one question more.
MAX_PARTS = 3

FIELDS = ("fees", "materials", "where", "time_limit", "who", "steps", "legal_basis", "online")
FIELD_LABELS = {
    "fees": "收费",
    "materials": "需要带的材料",
    "where": "办理地点",
    "time_limit": "办理时限",
    "who": "谁可以办",
    "steps": "办理步骤",
    "legal_basis": "法律依据",
    "online": "网上办理",
}

# An age: "61岁", "16周岁", "七十岁", "今年61" (when the next character is no unit), "61了还…".
_AGES = (
    r"[0-9]+周岁|[0-9]+岁|[一二三四五六七八九十]+周岁|[一二三四五六七八九十]+岁|今年[0-9]+(?![0-9年月天号日])|"
    r"[0-9]+了还"
)
# People and ages: a "who" cue, yet often only the story (_PEOPLE_RE).
_PEOPLE = (
    _AGES + "|孩子|小孩|未成年|老人|老年人|爸妈|父母|家属|亲属|家人|老公|老婆|爷爷|奶奶|外公|外婆|我爸|我妈|"
    "大人|监护人|外地人|外地户口|外国人|学生"
)

# The words that ask for one part of an answer, on folded text (simplified, lower case). Checked in
# this order: "网上交钱" asks whether it can be done online before it asks the fee.
_FIELD_CUES: tuple[tuple[str, str], ...] = (
    (
        "online",
        r"网上|线上|网办|在线|手机上|手机里|手机能|用手机|小程序|公众号|app|微信上|支付宝|12123|一网通办|不用跑|不跑腿|远程",
    ),
    (
        "legal_basis",
        r"依据|根据哪|哪个文件|什么文件|哪份文件|啥文件|哪些文件|哪条法|哪一条法|哪条规定|哪条法规|第几条|什么法|哪个法|哪部法|法律规定|法规|条例|有规定吗|规定在哪|法条|合法吗|违法吗|犯法吗",
    ),
    (
        "fees",
        r"多少钱|交多少钱|要多少钱|花多少钱|给多少钱|收多少钱|交多少|给多少|费多少|花多少|几块钱|几多钱|多钱|费用|收费|收钱|要钱|花钱|交钱|给钱|付钱|工本费|免费|减免|免交|能免|可以免|免不免|免吗|免么|不要钱|贵不贵|贵吗|价格|价钱|手续费|缴费|交费|多少费|出钱|掏钱|几多钱|要唔要钱|收唔收钱|几个钱|邮费|快递费|运费|"
        # "又要多少", "得多少" closing the question: how much is the fee (多少天 is a time).
        r"要多少$|得多少$",
    ),
    (
        "materials",
        r"材料|资料|(?<!办)什么证件|(?<!办)啥证件|带什么|带啥|带哪些|拿什么|拿啥|准备什么|准备啥|准备哪些|要带|得带|需带|带上|带齐|证明材料|手续要什么|要啥证|提供什么|提交什么|照片|复印件|拿些啥|带些啥|要些啥|准备些啥|拿些什么|带些什么|要些什么|"
        r"带么子|拿么子|要么子|"
        # "上户口要啥" closing the question: what it takes is what to bring (一次性告知).
        r"需要啥$|要啥$|需要什么$|要什么$|"
        # Which certificates to bring ("要开啥证明"): no alternation groups, see _longest_first.
        + "|".join(
            f"{verb}{which}证明"
            for verb in ("", "带", "开", "要", "准备", "提供", "交")
            for which in ("哪些", "什么", "啥", "些")
        ),
    ),
    (
        "time_limit",
        r"多久|几点|跑一趟|跑几趟|一趟能|拿回来|领回来|周六|周日|周末|节假日|晚上|上班时间|下班|当天|当场|下了班|马上能|立等|即办|现场能|多长时间|几天|几个工作日|多少天|几周|几个月|多快|啥时候能|什么时候能|何时能|时限|时间限制|期限|限期|拿到|能拿|能领|下来了|下来没|能下来|啥时候|什么时候|几时|出证|到手|加急|要等|等多久|有效期|逾期|超期|过了期限|超过期限|拖着不|迟交|晚交|多长|慢不慢|会不会慢|比.{0,8}慢|快不快|几耐|几时攞|几时拎|攞到|拎到",
    ),
    (
        "where",
        r"找区里|找市里|找县里|找省里|区里还是|市里还是|哪一级|哪级|在哪里|去哪里|在哪儿|去哪儿|到哪里|上哪里|在哪|去哪|哪去|交哪|送哪|找谁|哪个部门|什么部门|哪个单位|哪里|哪儿|哪个窗口|哪个派出所|什么地方|啥地方|地址|地点|窗口|大厅|到哪|上哪|几楼|怎么走|位置|在外地|当地|那边能|这边能|那里能|这里能|边度|喺边"
        # "派出所能办不": whether that place handles it (before the who-cues read 能办不); no
        # alternation groups, see _longest_first.
        + "|"
        + "|".join(
            f"{place}{also}{can}"
            for place in ("派出所", "车管所", "出入境", "公安局", "分局", "政务中心", "服务中心", "大厅")
            for also in ("", "就", "也")
            for can in ("能", "可以", "给办", "办得")
        ),
    ),
    (
        "who",
        # An age told ("我今年61了还能考不", "16岁能办身份证吗") is, like people, a question of who may
        # apply only with a word of being allowed or able (_PEOPLE_RE).
        r"谁能|谁可以|谁来|谁去|年龄|岁数|几岁|多大|年纪|超龄|能不能办|能办吗|"
        r"能办不|可以办吗|可以办不|办得了|有资格|条件|本人|亲自|代办|代领|代替|"
        r"委托|别人帮|家人帮|帮我办|帮忙办|帮我开|帮我领|帮我去|一起去|跟着去|"
        r"陪着去|" + _PEOPLE,
    ),
    ("steps", r"流程|步骤|程序|先干嘛|先做什么|第一步|分几步|怎么操作|咋操作|具体怎么弄|具体咋弄"),
)


def _longest_first(pattern: str) -> str:
    """Alternatives longest first, so that 在哪里 is taken whole rather than 在哪 with 里 left over."""
    return "|".join(sorted(pattern.split("|"), key=len, reverse=True))


_FIELD_RES = tuple((name, re.compile(_longest_first(pattern))) for name, pattern in _FIELD_CUES)

# People named in a message are often only its story ("结婚了想把户口落到老公家那边", "孩子13岁，想给
# 他办第一张身份证"): they ask who may apply only with a word of being allowed or able ("小孩也能办",
# "叫我老公去领行不行", "大人必须跟着去吗"). Without one, they are left to the other cues (or to none).
_PEOPLE_RE = re.compile(_longest_first(_PEOPLE))
_ALLOWED_RE = re.compile(
    r"能|可以|行不行|行吗|行不|行么|成不|中不|要不要|需不需要|必须|一定要|得跟|得去|得到场|到场|允许|让|叫|替|帮"
)
WHO_NAME = "who"
_KIN = "老婆|老公|爱人|媳妇|爸|妈|家人|家里人|朋友|亲戚|姐|哥|弟|妹|儿子|女儿|同事|别人"
# Someone else sent to do it: asks who may apply, before any other part it names.
_DELEGATION_RE = re.compile(
    rf"替我|代办|代领|代交|代我|委托|托人|找人|(?:叫|让|请|托)(?:我|俺)?(?:{_KIN})|(?:{_KIN})(?:能|可以|去)?帮"
)

# What a follow-up says besides its topic: asking words, particles, pronouns, generic verbs. What is
# left when these and the field cues are gone is the message's own topic (临时, 台湾, 驾照到期).
_FOLLOW_UP_WORDS = (
    r"请问一下|请问|想问一下|想问下|问一下|问下|再问|还想问|顺便问|另外|还有|那么|然后|那个|这个|那|这|它|其|该|此|"
    r"你们|我们|我家|我的|我|你|您|他|她|咱|俺|"
    r"怎么样|怎么办|怎么|咋办|咋样|咋|如何|什么|啥|哪些|哪个|多少|几|是不是|是否|有没有|能不能|可不可以|"
    r"需要|需|要|得|能|可以|可|会|想|应该|必须|一定|还|也|都|就|才|再|又|先|"
    r"办理|处理|办|弄|搞|整|做|去|来|拿|交|带|有|是|在|到|给|让|用|开|帮我们|帮我|帮忙|帮|跑一趟|跑一下|跑腿|我人|"
    r"申请|申领|报名|审批|审核|提前|限制|结果|部门|单位|那边|这边|派出所|办完|开好|改好|预约|排队|取号|"
    r"木有|没有|有木有|行不行|行不|成不|中不|要是|如果|假如|万一|"
    r"的|了|吗|呢|吧|啊|呀|哦|喔|嘛|么|哈|啦|嘞|呗|噢|哇|呐|不|没|"
    r"一下|一样|一起|同样|同理|情况|问题|手续|东西|事|时候|时间|的话|规定|规矩|要求|标准|具体|大概|大约|一般|"
    r"通常|最快|最慢|现在|目前|今天|怎样|个|好的|好|谢谢|多谢|嗯|哦哦|ok"
)
_FOLLOW_UP_RE = re.compile(_longest_first(_FOLLOW_UP_WORDS))

# Where one message may hold a further question: explicit "by the way" words, a question mark or a
# semicolon followed by more. A plain comma is not one ("身份证丢了，怎么补" is one question); a split
# is only kept when every part stands as a question of its own (the service checks that).
_SPLIT_RE = re.compile(
    r"(?:[,，。.;；!！?？\s]*(?:顺便(?:再)?问(?:一)?下|顺便问问|顺便|顺带(?:问(?:一)?下)?|另外(?:再)?问(?:一)?下|另外|还有(?:一个问题|个问题)?|"
    r"再问(?:一)?下|再问问|以及|还想问(?:一)?下|还想问|我还想知道|还有就是)[,，:：\s]*)"
    r"|[;；]+|[?？]+(?=.)|[。!！]+(?=.)"
    # A question closed by its particle and another joined on ("上牌要钱吗和防盗有啥办法").
    r"|(?<=[吗嘛么])[,，\s]*(?:还有|以及|和|跟)(?=.)"
)
_MIN_PART = 3  # characters of its own a part needs to be a question


_CLAUSE_RE = re.compile(r"[,，。.;；!！?？~～\s]+")


def asked_field(text: str, *, whole: bool = False) -> str | None:
    """The part of an answer the message asks for ("护照要多少钱" → fees), if it asks for one.

    Residents tell the story first and ask last ("五一想去澳门耍几天，那个通行证咋办"): the question
    is read in the last clause that says anything; a follow-up (`whole`) has no story to skip. A last
    clause that neither asks nor names a part is a remark after the question ("警务室在哪儿啊 想过去问点
    事"): the question is then the last clause before it that asks."""
    clauses = [c for c in _CLAUSE_RE.split(fold(text)) if c]
    if whole:
        return _field_of("".join(clauses))
    if not clauses:
        return None
    found = _field_of(clauses[-1])
    if found is not None or _is_question(clauses[-1]):
        return found
    asking = [c for c in clauses[:-1] if _is_question(c)]
    return _field_of(asking[-1]) if asking else None


# 几 of a number said loosely ("几百块钱", "来住几天"): no question.
_LOOSE_NUMBER_RE = re.compile(r"几(?=[十百千万])|(?<=[住待玩耍呆])几(?:天|个月)")
# "办到哪了", "寄到哪一步": how far something has got (a case, a parcel), not where to go.
_PROGRESS_RE = re.compile(r"[寄办查走弄审批送]到(?:哪一步|哪个环节|哪步|(?:哪里|哪儿|哪)(?=了|啦|$))")


def _field_of(folded: str) -> str | None:
    """The part of an answer one clause (or a whole follow-up) names."""
    # "来住几天要登记吗": how long the stay is is the story, not a question of time.
    folded = _LOOSE_NUMBER_RE.sub("", _PROGRESS_RE.sub("", folded))
    if _DELEGATION_RE.search(folded):
        # "我老婆能帮我去交材料不": whether someone else may go, whatever else is named.
        return WHO_NAME
    for name, pattern in _FIELD_RES:
        found = pattern.search(folded)
        if found and name == WHO_NAME and not _asks_who(folded, pattern):
            continue
        if found:
            return name
    return None


def _asks_who(folded: str, pattern: re.Pattern[str]) -> bool:
    """The who-cues found are more than people of the story (see _PEOPLE_RE)."""
    if any(not _PEOPLE_RE.fullmatch(m.group()) for m in pattern.finditer(folded)):
        return True
    return bool(_ALLOWED_RE.search(folded))


# The documents and things residents name a matter by. A message that names one speaks of its own
# topic ("临时身份证几天能拿", "电动车上牌要带啥"); one that does not ("要是丢了呢", "迁出呢", "过期换的呢")
# leans on the conversation's, and is read with that entry's document put back in front of it.
_DOCUMENTS = (
    "港澳台居民居住证|往来港澳通行证|港澳通行证|往来台湾通行证|台湾通行证|临时居民身份证|临时身份证|居民身份证|"
    "身份证|户口簿|户口本|户口|护照|居住证|暂住证|签注|签证|机动车驾驶证|驾驶证|驾照|行驶证|保安员证|"
    "无犯罪记录证明|户籍证明|户口证明|特种行业许可证|营业执照|电动自行车|电动车|电瓶车|二手车|机动车"
)
_DOCUMENT_RE = re.compile(_longest_first(_DOCUMENTS))
# The bare document, without the words that tell its kinds apart (往来港澳通行证 → 通行证): put in front
# of "台湾的呢" it must not already say 港澳.
_CORE_NOUN_RE = re.compile(
    _longest_first(
        "身份证|户口|护照|通行证|居住证|驾驶证|驾照|保安员证|无犯罪记录证明|户籍证明|特种行业许可证|"
        "电动自行车|电动车|二手车"
    )
)
# "那…呢", "要是…呢": a clause that only makes sense as a variant of what was just answered.
_ELLIPTICAL_RE = re.compile(r"呢$|^(?:那|那要是|要是|如果|假如|万一)")


def names_document(text: str) -> bool:
    """The message names a document or thing of its own (身份证, 港澳通行证, 电动车)."""
    return bool(_DOCUMENT_RE.search(NON_WORD_RE.sub("", fold(text))))


def topic_noun(title: str) -> str | None:
    """The bare document or thing an entry's title is about (居民身份证有效期满换领 → 身份证)."""
    found = _CORE_NOUN_RE.search(fold(title))
    return found.group() if found else None


# "那" alone is mostly "then" ("那身份证到期呢"), not "that": only measure words make it point.
_POINTED_RE = re.compile(f"(?:这个|那个|这种|那种|这张|那张|这本|那本|该)([{CJK_CLASS}]{{2}})")


# "这证要年年签注不", "那证一次能用几回": the document of the matter in the conversation.
_THIS_DOCUMENT_RE = re.compile(r"(?:这|那|该|这个|那个|这张|那张|这本|那本)证(?!明|件)")


def points_at_a_document(text: str) -> bool:
    """The message points at "this document" without naming it."""
    return bool(_THIS_DOCUMENT_RE.search(NON_WORD_RE.sub("", fold(text))))


def pointed_at(text: str) -> list[str]:
    """The two characters after each demonstrative ("这个证明" → 证明, "这个换证" → 换证)."""
    return [m.group(1) for m in _POINTED_RE.finditer(NON_WORD_RE.sub("", fold(text)))]


# A number and its measure word (一次, 两本, 几张): how many, never what.
_COUNT_RE = re.compile(r"[一二两三四五六七八九十几每半\d][次个本张份趟回遍年天]")


def is_count(word: str) -> bool:
    return bool(_COUNT_RE.fullmatch(word))


def asks_something(text: str) -> bool:
    """A question word or a questioning end ("还能考不", "行没")."""
    folded = NON_WORD_RE.sub("", fold(text))
    return bool(_ASKS_RE.search(fold(text)) or re.search(r"[不没否]$", folded))


def is_elliptical(text: str) -> bool:
    """A short "那…呢" or "要是…呢" message: a variant of the matter in the conversation."""
    clauses = [c for c in _CLAUSE_RE.split(fold(text)) if c]
    return any(_ELLIPTICAL_RE.search(c) for c in clauses)


def own_words(text: str) -> str:
    """What is left of a message without follow-up and field words: its own topic, if any."""
    return without_asking(_DELEGATION_RE.sub("", NON_WORD_RE.sub("", fold(text))))


def without_asking(compact: str, *, keep: str | None = None) -> str:
    """`compact` without the parts it asks for (but `keep`'s cues) and asking words."""
    for name, pattern in _FIELD_RES:
        if name != keep:
            compact = pattern.sub("", compact)
    return _FOLLOW_UP_RE.sub("", compact)


def fold_words(*texts: str) -> str:
    """Texts folded and joined without punctuation: what a follow-up's own words are looked up in."""
    return "|".join(NON_WORD_RE.sub("", fold(t)) for t in texts)


# A pronoun or 也 points back at the topic; "那…呢" alone does not ("那我家狗丢了呢" is a new matter).
_FOLLOW_UP_MARK_RE = re.compile(r"这个|那个|这证|那证|它|也")


def sounds_like_follow_up(text: str) -> bool:
    """Asks for a part of an answer, or points back at the topic (这个, 它, 也): "她才8岁，小孩也能办？"
    does; "楼上装修太吵了怎么办" does not, however few known words it has."""
    compact = NON_WORD_RE.sub("", fold(text))
    return asked_field(text, whole=True) is not None or bool(_FOLLOW_UP_MARK_RE.search(compact))


def is_bare_follow_up(text: str) -> bool:
    """Nothing of its own: "要多少钱", "在哪里办呢", "那这个呢" only make sense after a topic."""
    return not own_words(text)


def split_questions(text: str) -> list[str]:
    """The pieces a message may hold several questions in, in order (one piece: one question)."""
    pieces = [p.strip(" ,，。.;；!！?？") for p in _SPLIT_RE.split(text)]
    pieces = [p for p in pieces if p]
    merged: list[str] = []
    for piece in pieces:
        # A piece too short to ask anything ("好的", "谢谢") belongs to its neighbour.
        if merged and len(NON_WORD_RE.sub("", piece)) < _MIN_PART:
            merged[-1] += "，" + piece
        else:
            merged.append(piece)
    return merged


# In a later question of a message, 也, 一起 and 一并 point back at the question before ("驾驶证丢了咋补
# 行驶证也一起丢了咋办") and name nothing of their own; 也许 is "maybe", not a pointer.
_ALSO_RE = re.compile(r"也(?!许)(?:都|一起|一并)?|一起|一并")


def without_also(text: str) -> str:
    """A later question of a message without the words that only point back at the one before it:
    "身份证也一起丢了咋办" asks what "身份证丢了咋办" asks."""
    return _ALSO_RE.sub("", text)


# One part asked of two matters ("台湾通行证跟港澳通行证各多少钱", "上户口和办身份证分别要带什么").
_SHARED_RE = re.compile(
    r"^([^,，。;；!！?？\s]{2,12}?)(?:以及|还有|和|跟|与|及)([^,，。;；!！?？\s]{2,12}?)"
    r"(?:各自|各|分别|都)([^,，。;；!！?？\s]{2,})$"
)


def shared_questions(text: str) -> list[str]:
    """The two questions of one part asked of two matters, each with that part ("台湾通行证多少钱",
    "港澳通行证多少钱"), or none. Like clauses, they stand only when the service answers each with an
    entry of its own: "我和老婆都要办护照" asks one thing."""
    found = _SHARED_RE.match(text.strip(" ,，。.;；!！?？"))
    if not found:
        return []
    first, second, rest = found.groups()
    if not own_words(first) or not own_words(second):
        return []  # "我和你都…": no matter named on one side
    return [first + rest, second + rest]


# Commas, and the spaces chat uses as commas ("在哪办 要多少钱 几天拿").
_CLAUSE_SPLIT_RE = re.compile(r"[,，、\s]+")
_ASKS_RE = re.compile(
    r"吗|呢|么|怎么|咋|如何|什么|啥|哪|谁|多少|几|多久|能不能|可不可以|是否|有没有|要不要|[?？]"
)


def clause_questions(text: str) -> list[str]:
    """Clauses between commas that each ask something ("无犯罪记录证明要几天，护照在哪里办"), or none.

    A comma mostly joins a story to its question ("身份证丢了，怎么补"): the pieces stand only when every
    one of them asks (a question word, or a part of an answer asked for); the service then also wants
    each answered with an entry of its own."""
    pieces = [p.strip(" 。.;；!！?？") for p in _CLAUSE_SPLIT_RE.split(text)]
    pieces = [p for p in pieces if len(NON_WORD_RE.sub("", fold(p))) >= _MIN_PART]
    if len(pieces) < 2:
        return []
    asking = [
        bool(_ASKS_RE.search(fold(p)) or (asked_field(p) is not None and not _STORY_RE.match(p)))
        for p in pieces
    ]
    if all(asking):
        return pieces
    # "良民证 上哪开 收不收钱": the matter named first, then several parts of it asked, each a clause
    # of its own; the matter goes with the first of them.
    first = asking.index(True) if any(asking) else len(pieces)
    if len(pieces) - first >= 2 and all(_is_question(p) for p in pieces[first:]):
        return ["，".join(pieces[: first + 1]), *pieces[first + 1 :]]
    return []


def run_on_questions(text: str) -> list[str]:
    """Two parts of one matter asked in one breath, with no comma between ("补的话要拿什么去多少天能拿到
    手", "护照要多少钱多久能拿到"): the message cut where the second part's words begin, or none.

    Both halves must ask, and ask different parts. "护照加急要多少钱" is one question (加急 is what the fee
    is for, not a question of its own); who is asked about ("孩子办护照…") is a condition, never a cut."""
    compact = text.strip(" 。.;；!！?？")
    folded = fold(compact)
    if len(folded) != len(compact) or _CLAUSE_SPLIT_RE.search(folded) or _CLAUSE_RE.search(folded):
        return []
    starts = sorted(
        {m.start() for name, pattern in _FIELD_RES if name != WHO_NAME for m in pattern.finditer(folded)}
    )
    for start in starts:
        left, right = folded[:start], folded[start:]
        if min(len(NON_WORD_RE.sub("", left)), len(NON_WORD_RE.sub("", right))) < _MIN_PART:
            continue
        first, second = _field_of(left), _field_of(right)
        if first is None or second is None or first == second or WHO_NAME in (first, second):
            continue
        if _is_question(left) and _is_question(right):
            return [compact[:start], compact[start:]]
    return []


# "收不收钱", "要不要预约", "行不行": a question asked as "A 不 A".
_A_NOT_A_RE = re.compile(rf"([{CJK_CLASS}])不\1")


def _is_question(clause: str) -> bool:
    """A clause that asks (a question word, "A 不 A", or a questioning end), not one that only names
    a part of an answer ("想免工本费") or tells a number loosely ("里面几百块钱")."""
    told = _LOOSE_NUMBER_RE.sub("", fold(clause))
    return asks_something(told) or bool(_A_NOT_A_RE.search(told))


# "我人在外地" before "能让我爸帮我开么": the teller's own situation, said without asking anything, is
# the story of the question after it, whatever part of an answer its words would point at.
_STORY_RE = re.compile(r"^(?:我|俺|本人|咱)")


# Something that happened (丢了, 过期, 出生, 被偷): a clause telling it is a matter of its own, not the
# teller's situation.
_EVENT_RE = re.compile(
    r"丢|掉|偷|盗|抢|坏|损|过期|到期|失效|补|换|办|没了|不见|注销|迁|死|去世|出生|生了|结婚|离婚|改名|被"
)


def tells_then_asks(text: str) -> bool:
    """The teller's situation, then a part of a matter asked with nothing of its own ("我跟孩子不在一个户
    口本上 要带什么", "我老公是外地户口，要多少钱"): the situation is a condition of the matter in the
    conversation, whatever document its words name."""
    clauses = [c for c in _CLAUSE_SPLIT_RE.split(fold(text).strip(" 。.;；!！?？")) if c]
    if len(clauses) < 2 or not is_bare_follow_up(clauses[-1]) or asked_field(clauses[-1], whole=True) is None:
        return False
    return all(
        _STORY_RE.match(c) and not _ASKS_RE.search(c) and not _EVENT_RE.search(c) for c in clauses[:-1]
    )


def field_text(entry: Entry, name: str) -> str | tuple[str, ...]:
    """The entry's own words for one part of its answer (empty when the entry does not say)."""
    a = entry.answer
    if name == "online":
        lines = [
            line
            for line in (a.summary, *a.steps, a.where, a.fees, a.time_limit, *a.tips, *a.materials)
            if line and re.search(_FIELD_CUES[0][1], fold(line))
        ]
        return tuple(dict.fromkeys(lines))
    return getattr(a, name)


@dataclass(frozen=True, slots=True)
class ConversationState:
    """What the bot remembers of one resident's conversation in one channel."""

    community: str
    at: datetime
    entry_id: str | None = None  # the last entry answered
    choices: tuple[str, ...] = ()  # the last "did you mean" list, in its order
    clarified: int | None = None  # the consultation that list answered ("都不是" sends it to officers)
    history: tuple[str, ...] = field(default_factory=tuple)  # the last few messages, masked
    asked: str | None = None  # the part of an answer asked for when the list was offered ("多少钱")

    def fresh(self, community: str, now: datetime) -> bool:
        return self.community == community and now - self.at <= EXPIRES_AFTER

    def to_json(self) -> dict[str, Any]:
        return {
            "community": self.community,
            "at": self.at.isoformat(),
            "entry_id": self.entry_id,
            "choices": list(self.choices),
            "clarified": self.clarified,
            "history": list(self.history),
            "asked": self.asked,
        }

    @classmethod
    def from_json(cls, data: Any) -> ConversationState | None:
        """None for anything that is not a state this code wrote (an old or corrupt record)."""
        try:
            at = datetime.fromisoformat(data["at"])
            if at.tzinfo is None:
                at = at.replace(tzinfo=UTC)
            clarified = data.get("clarified")
            return cls(
                community=str(data["community"]),
                at=at,
                entry_id=str(data["entry_id"]) if data.get("entry_id") else None,
                choices=tuple(str(c) for c in data.get("choices", ()))[:10],
                clarified=int(clarified) if clarified is not None else None,
                history=tuple(str(h) for h in data.get("history", ()))[-HISTORY:],
                asked=data.get("asked") if data.get("asked") in FIELDS else None,
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            return None


HISTORY = 6  # messages kept for the officers, so they need not ask the resident to repeat
