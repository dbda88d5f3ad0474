"""What a message's words say against the knowledge base and the conversation: whether they name a topic
at all, whether the entry in the conversation speaks of them, which sibling entry they move to, how the
matcher reads them with the conversation's document or name in front, and the several questions one
message may hold. The text side is bot.core.conversation; the decisions that use these are AskService's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from bot.core import conversation as talk
from bot.core import picking
from bot.core.conversation import ConversationState
from bot.core.knowledge import KnowledgeBase
from bot.core.models import MatchResult, Outcome
from bot.core.understanding.fusion import WEAK_MATCH
from bot.services.guides import LIKELIER_THAN_NOT

# An entry's first keywords are the names residents call its matter by (改名, 临时身份证); the later
# ones are details (罚款, 代办) a follow-up about the matter also uses.
NAMING_KEYWORDS = 3
# A follow-up read with the conversation's document or name put in front ("要是丢了呢" → "…驾驶证要是丢了
# 呢") has at most this many characters of its own; a longer message is a matter of its own.
WITH_TOPIC_MAX_CHARS = 12
# A message whose words name no topic is read as a follow-up only when short: a long one with no known
# topic word is a question of its own that the knowledge base does not cover.
FOLLOW_UP_MAX_CHARS = 5
# The chance (0-100) the matcher must give the conversation's entry for a message alone before the
# message is read with the entry's name in front: 1 %, far below any answer, far above no evidence.
CONTEXT_MIN_SCORE = 1.0
# Words of its own a message after a list may have and still be read against the list (a pick by name
# is at most this long, picking.read_pick).
PICK_WORDS_MAX = 8
# A neighbour of the conversation's entry that the matcher finds likelier than not for a follow-up it
# will not answer alone: the conversation says which family is meant.
SIBLING_MIN_SCORE = LIKELIER_THAN_NOT
# Why a piece of a several-question message the matcher alone could only list was answered.
SETTLED = "settled by the question before it"

Match = Callable[[str, str], MatchResult]  # (text, community) → the matcher's reading
# (text, entry id) → the knowledge base says the text is not that entry's (its `not_covered` list)
RulesOut = Callable[[str, str], bool]


class FollowUpReader:
    def __init__(self, kb: KnowledgeBase, match: Match, rules_out: RulesOut | None = None) -> None:
        self._kb = kb
        self._match = match
        # Every reading below that puts the conversation's matter on a message checks it against what
        # the entry is not ("新生儿医保咋办" after the birth registration), as the matcher does alone.
        self._rules_out = rules_out or (lambda text, entry_id: False)
        self._vocabulary: tuple[tuple[int, int], frozenset[str]] | None = None
        self._titles: tuple[int, dict[str, str]] | None = None

    def topic_words(self, text: str) -> str:
        """The words of a follow-up that name some topic of the knowledge base (a title's or a
        keyword's two characters in a row): "临时" in "临时的呢"; nothing in "她才8岁，小孩也能办？"."""
        own = talk.own_words(text)
        if not own:
            return ""
        vocabulary = self._topic_vocabulary()
        grams = [own[i : i + 2] for i in range(len(own) - 1)]
        return own if any(g in vocabulary for g in grams) else ""

    def leans_on_context(self, text: str, topic: str | None = None) -> bool:
        """Short, naming no topic, and asking a part or pointing back ("她才8岁，小孩也能办？", "当天能拿
        牌不"): a follow-up about the matter in the conversation. `topic`: topic_words(text), when
        already known."""
        return (
            not (self.topic_words(text) if topic is None else topic)
            and len(talk.own_words(text)) <= FOLLOW_UP_MAX_CHARS
            and talk.sounds_like_follow_up(text)
        )

    def _topic_vocabulary(self) -> frozenset[str]:
        size = (len(self._kb.entries), len(self._kb.referrals))
        if self._vocabulary is None or self._vocabulary[0] != size:
            texts = [t for e in self._kb.entries.values() for t in (e.title, *e.keywords)]
            texts += [t for r in self._kb.referrals.values() for t in (r.title, *r.keywords)]
            grams = {
                w[i : i + 2] for t in texts for w in talk.fold_words(t).split("|") for i in range(len(w) - 1)
            }
            # Follow-up words are not topics even where a title uses them (办理, 多少, 时间).
            # Nor are counts (一次 of 一次有效签注): "考一次多少钱" names no matter of its own.
            grams = {g for g in grams if talk.own_words(g) == g and not talk.is_count(g)}
            self._vocabulary = (size, frozenset(grams))
        return self._vocabulary[1]

    def _folded_titles(self) -> dict[str, str]:
        """Entry titles folded once per knowledge version (a follow-up looks through all of them)."""
        size = len(self._kb.entries)
        if self._titles is None or self._titles[0] != size:
            self._titles = (size, {e.id: talk.fold_words(e.title) for e in self._kb.entries.values()})
        return self._titles[1]

    def speaks_of(self, community: str, entry_id: str, own: str) -> bool:
        """Every topic word of a follow-up is one the entry itself uses ("人在外地" after the
        no-criminal-record card, which explains applying from elsewhere): a detail of the same matter."""
        vocabulary = self._topic_vocabulary()
        grams = _cjk_grams(own) & vocabulary
        if not grams:
            return False
        # ... and no other entry is named by them ("居住证" after the birth card names the permit).
        titles = self._folded_titles()
        for other in self._kb.visible_ids(community) - {entry_id}:
            if any(g in titles.get(other, "") for g in grams):
                return False
        if self._rules_out(own, entry_id):
            return False
        return self._inside(community, entry_id, grams)

    def tells_situation(self, community: str, entry_id: str, text: str) -> bool:
        """The teller's situation, then a part of the matter asked ("我跟孩子不在一个户口本上 要带什么" after
        the first ID card, whose materials name the household register): a condition of the entry in the
        conversation when the entry itself speaks of every topic word of the situation. "我是新生儿的
        妈妈 要带啥" after the ID card's renewal is a matter of its own (the birth registration)."""
        if not talk.tells_then_asks(text) or self._rules_out(text, entry_id):
            return False
        grams = _cjk_grams(talk.own_words(text)) & self._topic_vocabulary()
        return self._inside(community, entry_id, grams)

    def _inside(self, community: str, entry_id: str, grams: set[str]) -> bool:
        """Whether the entry's own words (title, keywords, questions, answer) hold every one of `grams`."""
        entry = self._kb.entry_for(community, entry_id)
        a = entry.answer
        inside = talk.fold_words(
            entry.title,
            *entry.keywords,
            *entry.questions,
            a.summary,
            a.who,
            *a.materials,
            *a.steps,
            a.where,
            *a.tips,
        )
        return all(g in inside for g in grams)

    def read_pick(self, community: str, choices: tuple[str, ...], text: str) -> picking.Pick | None:
        """A "did you mean" list (`choices`, of which those still visible count) answered by words."""
        titles = {c: self._kb.entry_for(community, c).title for c in choices if self.visible(community, c)}
        return picking.read_pick(text, tuple(titles), titles)

    @staticmethod
    def one_listed(choices: tuple[str, ...], text: str, result: MatchResult) -> picking.Pick | None:
        """ "到期换证" after a list: alone it could be the ID card's or the licence's renewal (a "did you
        mean" of its own); of the entries just offered, only one is among those it could be. Or the
        matcher will not answer it alone ("往外迁 我要迁去广州" names another city), yet the entry it
        finds likeliest, likelier than not, is one just offered."""
        if not choices or result.outcome is Outcome.ANSWER or len(talk.own_words(text)) > PICK_WORDS_MAX:
            return None
        if result.outcome is Outcome.CLARIFY:
            listed = [c.entry_id for c in result.candidates if c.entry_id in choices]
        else:
            top = result.candidates[:1]
            listed = [c.entry_id for c in top if c.entry_id in choices and c.score >= LIKELIER_THAN_NOT]
        if len(listed) != 1:
            return None
        return picking.Pick(choices.index(listed[0]), listed[0], named=True)

    def refined(
        self, community: str, choices: tuple[str, ...], listed_for: str, text: str, alone: MatchResult
    ) -> str | None:
        """A short message after a list that picks none of it but narrows the question the list was
        for ("台湾那个" after "通行证" offered the traffic pass and the 港澳 pass): read with that
        question in front, the entry it is answered with, if that entry is listed or a sibling of one
        listed (往来台湾通行证 beside 往来港澳通行证)."""
        own = talk.own_words(text)
        if alone.outcome is Outcome.ANSWER or not listed_for or not own or len(own) > PICK_WORDS_MAX:
            return None
        result = self._match(f"{listed_for} {text}", community)
        best = result.best
        if result.outcome is not Outcome.ANSWER or best is None or self._rules_out(text, best.entry_id):
            return None
        return best.entry_id if _family(best.entry_id) in {_family(c) for c in choices} else None

    def sibling_in_view(self, community: str, context: str, text: str, alone: MatchResult) -> str | None:
        """ "住满半年了能办那个证不" after the residence-registration card: alone the matcher will not
        answer it, though the residence permit is likelier than not; in a conversation about that
        family of matters (residence.*) it is the one meant."""
        if alone.outcome is Outcome.ANSWER or not alone.candidates or not talk.asks_something(text):
            return None
        top = alone.candidates[0]
        if top.score < SIBLING_MIN_SCORE or _family(top.entry_id) != _family(context):
            return None
        return None if self._rules_out(text, top.entry_id) else top.entry_id

    def visible(self, community: str, entry_id: str | None) -> bool:
        return entry_id is not None and entry_id in self._kb.visible_ids(community)

    def in_reach(self, community: str, state: ConversationState | None) -> str | None:
        """The entry the conversation is about, if the community still shows it."""
        return state.entry_id if state is not None and self.visible(community, state.entry_id) else None

    def related(self, community: str, context: str, own: str, result: MatchResult) -> str | None:
        """The entry a short follow-up moves to ("临时的呢" after the lost-ID card: the temporary ID).

        Candidates are the context entry's siblings (same id family: idcard.*, exit.*) and the entries
        the matcher would offer; the one whose title and keywords hold most of the follow-up's own words
        wins, if exactly one does (the context entry itself may: "换证呢" after 换领)."""
        family = _family(context)
        visible = self._kb.visible_ids(community)
        pool = {e for e in visible if _family(e) == family}
        if result.outcome is Outcome.CLARIFY:  # what the matcher itself would offer for these words
            pool |= {c.entry_id for c in result.candidates if c.entry_id in visible}
        grams = _cjk_grams(own) or {own}
        scored: list[tuple[int, int, bool, str]] = []
        for entry_id in pool:
            entry = self._kb.entry_for(community, entry_id)
            # Words of the title weigh more than keywords: 临时 names 临时居民身份证, while the lost-ID
            # entry only mentions a temporary ID among its keywords. Then a sibling before an entry of
            # another family: "港澳的呢" after the passport is the 港澳 pass, not the 港澳 residents' permit.
            in_title = sum(1 for g in grams if g in talk.fold_words(entry.title))
            in_keywords = sum(1 for g in grams if g in talk.fold_words(*entry.keywords))
            sibling = _family(entry_id) == family
            if not sibling and not in_title and in_keywords < len(grams):
                # Beyond the family, a keyword sharing part of the words is too little: 一次 of "考一次
                # 多少钱" (after the guard's exam) is in the 港澳 pass's 一次有效签注, not its matter.
                continue
            if in_title or in_keywords:
                scored.append((in_title, in_keywords, sibling, entry_id))
        if not scored:
            return None
        if result.outcome is Outcome.ESCALATE and result.reason == "outside police services":
            # Another body's matter ("社保呢") unless a sibling's very title names it ("居住证呢").
            scored = [item for item in scored if item[0]]
            if not scored:
                return None
        scored.sort(reverse=True)
        best = scored[0][:3]
        tied = {e for t, k, f, e in scored if (t, k, f) == best}
        if len(tied) > 1:
            return None  # words that do not tell the entries apart ("身份证" again): as the matcher reads it
        return None if self._rules_out(own, scored[0][3]) else scored[0][3]

    def names_topic(self, community: str, entry_id: str, text: str) -> bool:
        """The message names the entry's matter itself: a document ("临时身份证几天能拿") or one of the
        entry's first keywords ("改名要带什么材料"), rather than leaning on the conversation for it."""
        return talk.names_document(text) or self.names_keyword(community, entry_id, text)

    def names_keyword(self, community: str, entry_id: str, text: str) -> bool:
        """The message uses one of the entry's first keywords ("大型活动" of the large-event permit)."""
        folded = talk.fold_words(text)
        keywords = self._kb.entry_for(community, entry_id).keywords[:NAMING_KEYWORDS]
        return any(len(w) >= 2 and w in folded for w in (talk.fold_words(k) for k in keywords))

    def read_variant(self, community: str, context: str, text: str) -> str | None:
        """The entry a brief variant ("要是丢了呢") is about, read with the conversation's document in
        front of it, if the matcher answers it so and the entry is still about that matter."""
        if len(talk.own_words(text)) > WITH_TOPIC_MAX_CHARS:
            return None
        query = self._with_document(community, context, text)
        if query is None:
            return None
        result = self._match(query, community)
        if result.outcome is not Outcome.ANSWER or result.best is None:
            return None
        entry_id = result.best.entry_id
        if self._rules_out(text, entry_id):
            return None
        return entry_id if self._near(community, context, entry_id, query) else None

    def reads_as_context(self, community: str, context: str, text: str, alone: MatchResult) -> bool:
        """A part of the matter asked in words of its own ("我上班走不开，叫我老公去领行不行"): with the
        entry's name in front, the matcher answers it with that very entry. Only when, `alone`, the
        matcher already gives the entry some chance: a new matter the knowledge base does not know
        ("楼上装修太吵了怎么办") must not be pulled in by the name put in front of it."""
        if len(talk.own_words(text)) > WITH_TOPIC_MAX_CHARS:
            return False
        if not any(c.entry_id == context and c.score >= CONTEXT_MIN_SCORE for c in alone.candidates):
            return False
        if self._rules_out(text, context):
            return False
        result = self._match(self._with_name(community, context, text), community)
        best = result.best
        return result.outcome is Outcome.ANSWER and best is not None and best.entry_id == context

    def several_questions(
        self, text: str, community: str, context: str | None = None
    ) -> list[tuple[str, MatchResult]]:
        """The questions of a message that asks several ("身份证丢了怎么补，顺便问下护照多少钱"), up to
        MAX_PARTS, each with the matcher's reading; none when it asks one. A split stands only when every
        piece is answered with an entry of its own, different from the others, or asks a part of the
        matter in reach ("在哪办 要多少钱 几天拿" after the ID card's renewal; `context`, or the entry a
        piece before it was answered with), a different part each, or asks what no entry answers (the
        officers take that piece) beside at least one that is answered: otherwise the message is read
        whole."""
        pieces = talk.split_questions(text)
        # Only words that say so ("顺便问下", "另外", a question mark) part off a question no entry
        # answers: clauses between commas or spaces are more often one question told in pieces.
        marked = len(pieces) > 1
        if not marked:
            pieces = talk.shared_questions(text) or talk.clause_questions(text) or talk.run_on_questions(text)
            # "身份证丢了咋补 社保卡也一起丢了咋整": a later clause adding a matter of its own with 也
            # says so as plainly as "顺便问下" would.
            marked = any("也" in piece and self.topic_words(piece) for piece in pieces[1:])
        pieces = pieces[: talk.MAX_PARTS]
        read: list[tuple[str, MatchResult]] = []
        asked: set[tuple[str, str | None]] = set()
        named: set[str] = set()  # entries a piece only names ("那护照呢"), asking nothing of them
        for n, piece in enumerate(pieces if len(pieces) > 1 else ()):
            # A later question is read without the words that only point back at the one before: the
            # service reads it so too (its 也 does not lean on the conversation's entry).
            piece = talk.without_also(piece) if n else piece
            result = self._match(piece, community)
            if result.outcome is Outcome.CLARIFY and context is not None:
                result = self._settled_by(community, context, piece, result)
            field = talk.asked_field(piece, whole=True)
            if (
                context is not None
                and field is not None
                and (
                    talk.is_bare_follow_up(piece)
                    or (result.outcome is not Outcome.ANSWER and self.leans_on_context(piece))
                )
            ):
                key = (context, field)  # the service answers it from the conversation
            elif result.outcome is Outcome.ANSWER and result.best is not None:
                key = (result.best.entry_id, None)
                context = result.best.entry_id
                if field is None and talk.is_elliptical(piece):
                    named.add(context)
            elif marked and result.outcome is Outcome.ESCALATE and talk.asks_something(piece):
                # "身份证丢了咋补？顺便问下社保卡丢了咋整": the part no entry answers goes to the
                # officers, the other is still answered.
                key = ("", piece)
            else:
                return []
            if key in asked:
                return []
            asked.add(key)
            read.append((piece, result))
        if all(entry == "" for entry, _ in asked):
            return []  # nothing answered: one ticket for the whole message
        if any(entry in named and part is not None for entry, part in asked):
            # "那护照呢，办一本多少钱": one piece names the matter, another asks a part of it: one
            # question (that part of that matter), not the whole card with the part beside it.
            return []
        return read

    def _settled_by(self, community: str, context: str, piece: str, result: MatchResult) -> MatchResult:
        """A question the matcher alone can only list ("报完咋查进度": a case's progress or an ID card's?)
        read with the matter asked just before it in front ("报案要带什么？报完咋查进度"): the reading
        stands when it answers one of the listed entries, not that matter itself, or finds only that one
        of them likely (a "weak match": the choice is still among the entries the list would offer);
        else the list does."""
        again = self._match(self._with_name(community, context, piece), community)
        offered = {c.entry_id for c in result.candidates}
        best = again.best
        settled = again.outcome is Outcome.ANSWER or (
            again.outcome is Outcome.CLARIFY and again.reason == WEAK_MATCH
        )
        if (
            settled
            and best is not None
            and best.entry_id != context
            and best.entry_id in offered
            and not self._rules_out(piece, best.entry_id)
        ):
            return replace(again, outcome=Outcome.ANSWER, candidates=(best,), reason=SETTLED)
        return result

    def _with_document(self, community: str, context: str, text: str) -> str | None:
        """A variant asked briefly, with the document of the conversation's entry put in front
        ("要是丢了呢" after the licence-renewal card reads "驾驶证要是丢了呢"): None when the message
        names a document of its own or the entry's title names none."""
        if talk.names_document(text):
            return None
        noun = talk.topic_noun(self._kb.entry_for(community, context).title)
        return f"{noun}{text}" if noun else None

    def _with_name(self, community: str, context: str, text: str) -> str:
        """A part of the matter asked in words of its own, with the entry's own name put in front
        ("去哪里备案" after the precursor-chemicals card reads "易制毒化学品去哪里备案")."""
        entry = self._kb.entry_for(community, context)
        return f"{entry.keywords[0] if entry.keywords else entry.title}{text}"

    def _near(self, community: str, context: str, entry_id: str, query: str) -> bool:
        """`entry_id`, read for a variant with the context's document in front (`query`), is still
        about that matter: the context itself, a sibling (idcard.*), or an entry whose title names the
        same document or thing (电动自行车防盗 after 电动自行车登记上牌)."""
        if entry_id == context or _family(entry_id) == _family(context):
            return True
        noun = talk.topic_noun(query)
        title = self._kb.entry_for(community, entry_id).title
        return noun is not None and noun in talk.fold_words(title)

    def points_back(self, community: str, context: str, text: str) -> bool:
        """ "这个证明网上能开吗" after the no-criminal-record card: a demonstrative and then words of the
        entry's own title point at the matter in the conversation, whatever else those words name."""
        title = talk.fold_words(self._kb.entry_for(community, context).title)
        if talk.points_at_a_document(text) and ("证" in title or "许可" in title):
            return True  # "这证要年年签注不" after the residence permit card
        return any(word in title for word in talk.pointed_at(text))


def _family(entry_id: str) -> str:
    """The id family an entry belongs to: idcard.lost and idcard.temporary are siblings (idcard)."""
    return entry_id.split(".", 1)[0]


def _cjk_grams(words: str) -> set[str]:
    """Two characters in a row with at least one Chinese character: "61" of "我今年61了" is a number,
    not a word of GB 17761 in the e-bike entry's keywords."""
    grams = {words[i : i + 2] for i in range(len(words) - 1)}
    return {g for g in grams if any("\u3400" <= ch <= "\u9fff" for ch in g)}
