"""A resident asks: triage, match, decide, record, reply. One transaction per question."""

from __future__ import annotations

import logging
from dataclasses import replace

from bot.core import conversation as talk
from bot.core import picking
from bot.core.conversation import ConversationState
from bot.core.junk import is_junk
from bot.core.knowledge import KnowledgeBase
from bot.core.matcher import Matcher
from bot.core.models import (
    Candidate,
    Channel,
    MatchResult,
    NewEscalation,
    Outcome,
    ResidentRef,
    ticket_number,
)
from bot.core.ports import Clock, ConversationStore, OperationsEvents, UnitOfWorkFactory
from bot.core.privacy import mask_and_truncate
from bot.core.replies import Choice, Notice, Reply
from bot.core.text import MATCH_CHAR_LIMIT, strip_controls
from bot.core.triage import Triage, TriageResult
from bot.services.callbacks import leave_callback
from bot.services.conversations import ConversationMemory, conversation_key
from bot.services.follow_ups import FollowUpReader
from bot.services.guides import guide_for
from bot.services.posting import post_to_officers
from bot.services.recording import ConsultationRecorder, ServiceTime, SpamHold
from bot.services.signals import Signals

log = logging.getLogger(__name__)

# What is kept of a message in the consultation log: enough to read the question, bounded in size.
STORED_CHAR_LIMIT = 2000
# A follow-up that names a related entry briefly ("临时的呢", "台湾的呢") has at most this many
# characters of its own; a longer one is a question of its own and is matched as such.
RELATED_MAX_CHARS = 6
# A pick by words this short ("第一个", "护照那个") only chooses; a longer one ("防盗呢，有啥好办法") also
# asks something of its own, so the part asked before the list does not carry over to it.
PICK_MAX_CHARS = 6
# Readings of a message that say it is not a police room's matter: no conversation makes it one.
_OTHER_BODY = frozenset({"outside police services", "another place's rules"})


class AskService:
    def __init__(
        self,
        kb: KnowledgeBase,
        matcher: Matcher,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        service_time: ServiceTime | None = None,
        *,
        triage: Triage | None = None,
        duty_chat_id: int | None = None,
        conversations: ConversationStore | None = None,
        events: OperationsEvents | None = None,
        spam_hold: SpamHold | None = None,
    ) -> None:
        self._kb = kb
        self._matcher = matcher
        self._uow = uow_factory
        self._clock = clock
        # Without a fitted classifier the readable rules still decide.
        self._triage = triage or Triage()
        self._duty_chat_id = duty_chat_id
        self._events = events or Signals()
        self._recorder = ConsultationRecorder(
            kb, uow_factory, clock, service_time or ServiceTime(), duty_chat_id, spam_hold
        )
        self._memory = ConversationMemory(conversations, clock)
        # Through the service's matcher at call time (tests replace its `match`).
        self._follow_ups = FollowUpReader(
            kb, lambda t, c: self._matcher.match(t, c), lambda t, e: self._matcher.rules_out(t, e)
        )

    async def ask(
        self,
        community: str,
        resident: ResidentRef,
        text: str,
        channel: Channel,
        conversation: str | None = None,
    ) -> Reply:
        """Answer, clarify or escalate `text`, recording the consultation (and escalation) atomically.

        `conversation` names the resident's conversation in this channel (a Telegram chat, a web page's
        session, an API client's id): its earlier messages give a follow-up its topic. Without it every
        message stands alone. Raises UnknownCommunityError for a community the knowledge base does not
        have.
        """
        place = self._kb.community(community)
        text = text if isinstance(text, str) else ""
        cleaned = strip_controls(text).strip()
        # Masked before it is cut: a number the cut runs through is still read (and masked) whole.
        stored = mask_and_truncate(cleaned, STORED_CHAR_LIMIT)
        notice = Notice.TRUNCATED if len(cleaned) > MATCH_CHAR_LIMIT else None
        key = conversation_key(channel, resident, conversation) if conversation else None
        state = await self._memory.load(key, place.slug) if key else None

        # Before anything else: somebody in danger gets the numbers first, not a menu or a referral.
        triage = self._triage(cleaned)
        if triage.urgent:
            earlier = state.history if state is not None else ()
            reply = await self._urgent(place.slug, resident, channel, stored, triage, notice, earlier)
            await self._memory.save(key, place.slug, state, reply, stored)
            return reply

        if is_junk(cleaned):
            # Keyboard mashing, one key held down, a laugh: ask for words; never an officer's ticket.
            consultation_id, *_ = await self._recorder.record(
                place.slug, resident, channel, stored, Outcome.CLARIFY, None, 0.0, escalate=False
            )
            return Reply(
                Outcome.CLARIFY, place, 0.0, False, consultation_id, notice=Notice.EMPTY, reason="no words"
            )

        in_reach = self._follow_ups.in_reach(place.slug, state)
        pieces = self._follow_ups.several_questions(cleaned, place.slug, in_reach) if notice is None else []
        if len(pieces) > 1:
            replies: list[Reply] = []
            for piece, matched in pieces:
                reply = await self._one(
                    place.slug,
                    resident,
                    channel,
                    piece,
                    mask_and_truncate(piece, STORED_CHAR_LIMIT),
                    None,
                    state,
                    matched,
                )
                state = self._memory.after_part(place.slug, state, reply)
                if reply.from_context and reply.entry_id != in_reach:
                    # "分户要啥材料 要多久": the later parts lean on the first part of the same
                    # message, not on the conversation before it.
                    reply = replace(reply, from_context=False)
                replies.append(reply)
            await self._memory.save(key, place.slug, state, replies[-1], stored, advanced=True)
            return replace(replies[0], parts=tuple(replies))
        reply = await self._one(place.slug, resident, channel, cleaned, stored, notice, state)
        await self._memory.save(key, place.slug, state, reply, stored)
        return reply

    async def _one(
        self,
        community: str,
        resident: ResidentRef,
        channel: Channel,
        cleaned: str,
        stored: str,
        notice: Notice | None,
        state: ConversationState | None,
        result: MatchResult | None = None,
    ) -> Reply:
        """One question, read in the light of the conversation so far (`state`, when fresh); `result`:
        the matcher's reading of it when already made (a piece of a several-question message)."""
        place = self._kb.community(community)
        beyond = False  # "选3" after a list of two: the list again, not a ticket for the officers
        if state is not None and state.choices:
            pick = self._follow_ups.read_pick(place.slug, state.choices, cleaned)
            beyond = pick is not None and pick.beyond
            if pick is not None and pick.rest:
                # "都不是，我问的是护照": the list is set aside and what follows is the question (the
                # consultation keeps the whole message).
                state = replace(state, choices=(), clarified=None)
                cleaned = pick.rest
            elif pick is not None and not beyond:
                return await self._picked(place.slug, resident, channel, stored, pick, state)
        context = self._follow_ups.in_reach(place.slug, state)
        earlier = state.history if state is not None else ()

        async def in_context(entry_id: str) -> Reply:
            """The entry the conversation gives the message, answered."""
            return await self._answer_entry(
                place.slug, resident, channel, stored, entry_id, cleaned, from_context=True
            )

        bare = talk.is_bare_follow_up(cleaned)  # nothing but follow-up words: "要多少钱", "在哪办呢"
        result = result or self._matcher.match(cleaned, place.slug)
        listed = self._follow_ups.one_listed(state.choices, cleaned, result) if state and not bare else None
        if state is not None and listed is not None:
            return await self._picked(place.slug, resident, channel, stored, listed, state)
        narrowed = (
            self._follow_ups.refined(place.slug, state.choices, state.history[-1], cleaned, result)
            if state is not None and state.choices and state.history and not bare
            else None
        )
        if narrowed is not None:
            return await in_context(narrowed)
        own = self._follow_ups.topic_words(cleaned)
        # A short message naming no topic that leans on what came before ("她才8岁，小孩也能办？"), or
        # the teller's situation before such words ("我跟孩子不在一个户口本上 要带什么").
        follow_up = bare or bool(context and self._follow_ups.tells_situation(place.slug, context, cleaned))
        follow_up = follow_up or self._follow_ups.leans_on_context(cleaned, own)
        # Such a follow-up belongs to the entry in the conversation even where its generic words alone
        # point elsewhere ("能在手机上处理吗" after the accident card is not the traffic-fine entry's).
        on_context = context is not None and follow_up
        # "要不要办大型活动那个许可" after the fireworks card: the demonstrative points at the matter the
        # message names itself (answered alone, by one of its keywords), not back at the conversation's.
        named_elsewhere = (
            result.outcome is Outcome.ANSWER
            and result.best is not None
            and result.best.entry_id != context
            and self._follow_ups.names_keyword(place.slug, result.best.entry_id, cleaned)
        )
        if (
            context is not None
            and not bare
            and not named_elsewhere
            and self._follow_ups.points_back(place.slug, context, cleaned)
        ):
            # "这个证明网上能开吗": the demonstrative names the matter in the conversation.
            return await in_context(context)
        # "要是丢了呢", "过期换的呢": a variant of the matter just answered, read with its document
        # ("台湾的呢": or named by a sibling's title).
        variant = (
            context is not None
            and not bare
            and talk.is_elliptical(cleaned)
            and not talk.names_document(cleaned)
            and result.reason not in _OTHER_BODY
        )
        if variant:
            moved = self._follow_ups.read_variant(place.slug, context, cleaned)
            if moved is None and own and len(own) <= RELATED_MAX_CHARS:
                moved = self._follow_ups.related(place.slug, context, own, result)
            if moved is not None:
                return await in_context(moved)
        if (
            result.outcome is Outcome.ANSWER
            and not bare
            and not (on_context and result.best is not None and result.best.entry_id != context)
        ):
            reply = await self._matched(
                place.slug, resident, channel, stored, notice, result, cleaned, earlier
            )
            if (
                context is not None
                and result.best is not None
                and result.best.entry_id == context
                and not self._follow_ups.names_topic(place.slug, context, cleaned)
            ):
                # "罚款最晚多久要交" after the traffic-fine card: the matcher agrees with the conversation,
                # but the message does not name the matter itself (as "改名要带什么材料" would); the entry
                # is the conversation's, and the whole message (no story to skip) says which part is asked.
                field = talk.asked_field(cleaned, whole=True) or reply.field
                reply = replace(reply, from_context=True, field=field)
            return reply

        if context is not None and follow_up and not (state is not None and state.choices):
            # It asks about the entry in the conversation (after a list, about the list: below).
            return await in_context(context)
        if state is not None and state.choices and (follow_up or beyond):
            # "要多少钱" right after "did you mean": which one's fee? The same list again.
            listed = tuple(
                Candidate(c, 0.0, "", "title")
                for c in state.choices
                if self._follow_ups.visible(place.slug, c)
            )
            if listed:
                again = MatchResult(Outcome.CLARIFY, 0.0, listed, False, cleaned, "which one is meant")
                return await self._matched(
                    place.slug, resident, channel, stored, notice, again, cleaned, earlier
                )
        if (
            context is not None
            and not bare
            and not variant
            and result.outcome is not Outcome.ANSWER
            and result.reason not in _OTHER_BODY
            and (talk.sounds_like_follow_up(cleaned) or talk.asks_something(cleaned))
            and self._follow_ups.reads_as_context(place.slug, context, cleaned, result)
        ):
            # "在外地能补吗", "我今年61了还能考不": a part of the matter asked with words of its own that,
            # alone, do not say which matter; with the entry's name in front they are that entry's.
            return await in_context(context)
        if context is not None and own:
            # Alone these words would not be answered: read with the conversation, they may be.
            related = (
                self._follow_ups.related(place.slug, context, own, result)
                if len(own) <= RELATED_MAX_CHARS
                else None
            )
            if related is None and self._follow_ups.speaks_of(place.slug, context, own):
                related = context
            if related is not None:
                return await in_context(related)
        sibling = (
            self._follow_ups.sibling_in_view(place.slug, context, cleaned, result)
            if context is not None and not bare and result.reason not in _OTHER_BODY
            else None
        )
        if sibling is not None:
            return await in_context(sibling)
        if bare and result.outcome is Outcome.ANSWER:
            # A bare follow-up with no topic in reach ("要多少钱" as a first message) is never answered on
            # a guess: the likeliest entry is offered instead.
            result = replace(result, outcome=Outcome.CLARIFY, reason="a follow-up without a topic")
        reply = await self._matched(place.slug, resident, channel, stored, notice, result, cleaned, earlier)
        return replace(reply, keeps_topic=context is not None and not own)

    async def _answer_entry(
        self,
        community: str,
        resident: ResidentRef,
        channel: Channel,
        stored: str,
        entry_id: str,
        cleaned: str,
        *,
        from_context: bool,
        reason: str = "a follow-up in the conversation",
        asked: str | None = None,
    ) -> Reply:
        entry = self._kb.entry_for(community, entry_id)
        consultation_id, *_ = await self._recorder.record(
            community, resident, channel, stored, Outcome.ANSWER, entry_id, 100.0, escalate=False
        )
        return Reply(
            Outcome.ANSWER,
            self._kb.community(community),
            100.0,
            False,
            consultation_id,
            entry=entry,
            matched=entry.title,
            reason=reason,
            field=talk.asked_field(cleaned, whole=from_context) or asked,
            from_context=from_context,
        )

    async def _picked(
        self,
        community: str,
        resident: ResidentRef,
        channel: Channel,
        stored: str,
        pick: picking.Pick,
        state: ConversationState,
    ) -> Reply:
        """A "did you mean" list answered by words: the entry picked, or none of them (officers)."""
        if pick.entry_id is not None:
            # The part the pick asks for ("补要多少钱", "电动车上牌要带哪些东西"); else, for a bare pick,
            # the part asked before the list ("多少钱" then "第一个": the first one's fee). A pick that
            # says more names the matter itself, not only the list's.
            says_more = pick.named and len(talk.fold_words(stored)) > PICK_MAX_CHARS
            return await self._answer_entry(
                community,
                resident,
                channel,
                stored,
                pick.entry_id,
                "",  # the part asked is read here, once
                from_context=not says_more,
                reason="picked by words",
                asked=talk.asked_field(stored, whole=True) or (None if says_more else state.asked),
            )
        if state.clarified is not None:
            try:
                return replace(
                    await self.escalate_consultation(state.clarified), reason="none of the choices"
                )
            except KeyError:
                pass  # the list's consultation is gone (pruned): this message opens the ticket itself
        result = MatchResult(Outcome.ESCALATE, 0.0, (), False, stored, "none of the choices")
        return await self._matched(community, resident, channel, stored, None, result, stored, state.history)

    # ---- conversation state -------------------------------------------------------------------
    async def forget_conversation(self, channel: Channel, resident: ResidentRef, conversation: str) -> None:
        """/start, a community change: the next message starts a new conversation."""
        await self._memory.forget(conversation_key(channel, resident, conversation))

    async def _matched(
        self,
        community: str,
        resident: ResidentRef,
        channel: Channel,
        stored: str,
        notice: Notice | None,
        result: MatchResult,
        cleaned: str,
        earlier: tuple[str, ...] = (),
    ) -> Reply:
        place = self._kb.community(community)
        if not result.normalized:
            # Only greetings, emoji or symbols: ask for words instead of bothering the officers.
            consultation_id, *_ = await self._recorder.record(
                place.slug,
                resident,
                channel,
                stored,
                Outcome.CLARIFY,
                None,
                0.0,
                escalate=False,
            )
            return Reply(
                Outcome.CLARIFY, place, 0.0, False, consultation_id, notice=Notice.EMPTY, reason="no words"
            )

        outcome = result.outcome
        best = result.best
        entry_id = best.entry_id if outcome is Outcome.ANSWER and best else None
        consultation_id, escalation_id, due_at, held = await self._recorder.record(
            place.slug,
            resident,
            channel,
            stored,
            outcome,
            entry_id,
            result.score,
            escalate=outcome is Outcome.ESCALATE,
            candidates=tuple((c.entry_id, c.score) for c in result.candidates),
            # Kept with what may reach the officers (a ticket now, or "none of these" later).
            earlier=earlier if outcome is not Outcome.ANSWER else (),
        )
        # The matcher's calibrated confidence, its evidence and the reason for the band, for the reply.
        explained = {"confidence": result.confidence, "evidence": result.evidence, "reason": result.reason}
        if outcome is Outcome.ANSWER and best is not None:
            return Reply(
                outcome,
                place,
                result.score,
                False,
                consultation_id,
                entry=self._kb.entry_for(place.slug, best.entry_id),
                matched=best.matched,
                notice=notice,
                field=talk.asked_field(cleaned),
                **explained,
            )
        if outcome is Outcome.CLARIFY:
            choices = tuple(
                Choice(c.entry_id, self._kb.entry_for(place.slug, c.entry_id).title, c.score)
                for c in result.candidates
            )
            return Reply(
                outcome,
                place,
                result.score,
                False,
                consultation_id,
                choices=choices,
                notice=notice,
                field=talk.asked_field(cleaned, whole=True),  # kept for the pick that follows
                **explained,
            )
        return Reply(
            Outcome.ESCALATE,
            place,
            result.score,
            False,
            consultation_id,
            ticket=ticket_number(escalation_id) if escalation_id is not None else None,
            due_at=due_at,
            referral=self._kb.referrals.get(best.entry_id) if best else None,
            notice=Notice.HELD if held else notice,
            suggestion=guide_for(self._kb, place.slug, result) if not held else None,
            **explained,
        )

    async def _urgent(
        self,
        community: str,
        resident: ResidentRef,
        channel: Channel,
        stored: str,
        triage: TriageResult,
        notice: Notice | None,
        earlier: tuple[str, ...] = (),
    ) -> Reply:
        """Recorded as urgent, a ticket due in minutes, the officers and the duty group alarmed at once."""
        assert triage.kind is not None
        log.warning("urgent consultation in %s: %s (%s)", community, triage.kind.value, triage.evidence)
        consultation_id, escalation_id, due_at, _ = await self._recorder.record(
            community,
            resident,
            channel,
            stored,
            Outcome.ESCALATE,
            None,
            0.0,
            escalate=True,
            urgent_kind=triage.kind.value,
            earlier=earlier,
        )
        self._events.urgent(triage.kind.value)
        return Reply(
            Outcome.ESCALATE,
            self._kb.community(community),
            0.0,
            True,
            consultation_id,
            ticket=ticket_number(escalation_id) if escalation_id is not None else None,
            due_at=due_at,
            notice=notice,
            urgent_kind=triage.kind,
            numbers=triage.numbers,
            also_kind=triage.also,
            reason=f"emergency: {triage.evidence}",
        )

    async def leave_callback(self, consultation_id: int, phone: str) -> str:
        """The resident of an urgent ticket leaves a number to be called back on (bot.services.callbacks)."""
        return await leave_callback(
            self._uow, self._kb, self._clock.now(), self._duty_chat_id, consultation_id, phone
        )

    async def view_entry(
        self,
        community: str,
        resident: ResidentRef,
        entry_id: str,
        channel: Channel,
        conversation: str | None = None,
    ) -> Reply:
        """A resident opened an entry from a menu or picked it from "did you mean": counted as a view,
        and the conversation's topic from now on ("要多少钱" next asks about it)."""
        place = self._kb.community(community)
        if entry_id not in self._kb.visible_ids(place.slug):
            raise KeyError(f"entry {entry_id!r} is not available in {place.slug}")
        entry = self._kb.entry_for(place.slug, entry_id)
        consultation_id, *_ = await self._recorder.record(
            place.slug,
            resident,
            channel,
            entry.title,
            Outcome.ANSWER,
            entry_id,
            100.0,
            escalate=False,
            via_menu=True,
        )
        key = conversation_key(channel, resident, conversation) if conversation else None
        state = await self._memory.load(key, place.slug) if key else None
        # Tapped in a list offered for "多少钱": that entry's fee first, like a pick by words.
        asked = state.asked if state is not None and entry_id in state.choices else None
        reply = Reply(
            Outcome.ANSWER,
            place,
            100.0,
            False,
            consultation_id,
            entry=entry,
            matched=entry.title,
            reason="chosen from the menu",
            field=asked,
        )
        await self._memory.save(key, place.slug, state, reply, entry.title)
        return reply

    async def escalate_consultation(self, consultation_id: int) -> Reply:
        """ "None of these": the resident's clarified question goes to the officers after all."""
        now = self._clock.now()
        async with self._uow() as uow:
            consultation = await uow.consultations.get(consultation_id)
            if consultation is None:
                raise KeyError(f"consultation {consultation_id} not found")
            place = self._kb.community(consultation.community)
            if not consultation.urgent and await self._recorder.held(uow, now, asker_of=consultation_id):
                return Reply(
                    Outcome.ESCALATE, place, consultation.score, False, consultation_id, notice=Notice.HELD
                )
            due_at = self._recorder.due(now, consultation.urgent)
            escalation = await uow.escalations.open(consultation_id, NewEscalation(due_at=due_at))
            await post_to_officers(
                uow,
                self._kb,
                escalation_id=escalation.id,
                community=consultation.community,
                question=consultation.text_masked,
                urgent=consultation.urgent,
                urgent_kind=consultation.urgent_kind,
                candidates=(),
                due_at=due_at,
                now=now,
                earlier=consultation.earlier,
            )
            await uow.commit()
        return Reply(
            Outcome.ESCALATE,
            place,
            consultation.score,
            consultation.urgent,
            consultation_id,
            ticket=escalation.ticket,
            due_at=escalation.due_at,
        )
