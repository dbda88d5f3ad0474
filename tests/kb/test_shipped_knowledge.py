"""The knowledge base we ship: complete, well-formed and in our own words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.core.knowledge import KnowledgeBase
from bot.core.text import Normalizer
from tests.conftest import SHARED_EVAL

SAMPLE_COMMUNITIES = {"chengzhong-gongyuan", "yufeng-xiangyang", "liunan-hexi"}


def test_three_sample_communities(shipped_kb: KnowledgeBase) -> None:
    assert set(shipped_kb.communities) >= SAMPLE_COMMUNITIES
    for slug in SAMPLE_COMMUNITIES:
        community = shipped_kb.communities[slug]
        assert community.sample, slug
        assert community.officers and community.office_address and community.office_hours


def test_every_topic_is_covered_under_its_id(shipped_kb: KnowledgeBase) -> None:
    topics = SHARED_EVAL / "topics.tsv"
    if not topics.exists():
        pytest.skip("topic list not available")
    lines = topics.read_text(encoding="utf-8").splitlines()[1:]
    expected = {line.split("\t")[0]: line.split("\t")[1] for line in lines if line.strip()}
    missing = set(expected) - set(shipped_kb.entries)
    assert not missing
    for topic_id, section in expected.items():
        assert shipped_kb.entries[topic_id].section == section, topic_id


def test_entries_are_rich_enough_to_match(shipped_kb: KnowledgeBase) -> None:
    for entry in shipped_kb.entries.values():
        assert len(entry.questions) >= 5, entry.id
        assert entry.keywords, entry.id
        if entry.kind == "procedure":
            assert entry.answer.materials, entry.id


def test_community_topics_answer_with_the_communitys_facts(shipped_kb: KnowledgeBase) -> None:
    for slug in SAMPLE_COMMUNITIES:
        community = shipped_kb.communities[slug]
        office = shipped_kb.entry_for(slug, "community.office")
        text = " ".join([office.answer.summary, office.answer.where, office.answer.time_limit])
        assert community.office_address in text, slug
        officers = shipped_kb.entry_for(slug, "community.officer")
        rendered = " ".join([officers.answer.summary, officers.answer.where, *officers.answer.steps])
        assert community.officers[0].name in rendered, slug
        assert "{" not in rendered


EVALUATION_SETS = [
    SHARED_EVAL / "dev.jsonl",
    Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "real_questions.jsonl",
    Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "real_dev.jsonl",
    Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "dialogues.jsonl",
    Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "dialogues_dev.jsonl",
    Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "dialogues_dev2.jsonl",
    Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "dialogues_fresh.jsonl",
]


def _asked(path: Path) -> list[str]:
    """The questions of an evaluation set: one per line, or every turn of every dialogue."""
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return (
        [turn["text"] for item in items for turn in item["turns"]]
        if "turns" in items[0]
        else [item["q"] for item in items]
    )


@pytest.mark.parametrize("questions", EVALUATION_SETS, ids=lambda p: p.name)
def test_no_evaluation_question_was_copied_into_the_knowledge(
    shipped_kb: KnowledgeBase, questions: Path
) -> None:
    if not questions.exists():
        pytest.skip(f"{questions.name} not available")
    normalize = Normalizer()
    asked = {normalize(q) for q in _asked(questions)}
    assert len(asked) >= 100  # the set itself is there, not an empty file
    phrasings = {
        normalize(text)
        for entry in shipped_kb.entries.values()
        for text in (entry.title, *entry.questions, *entry.keywords, *entry.not_covered)
    }
    phrasings |= {normalize(q) for r in shipped_kb.referrals.values() for q in r.questions}
    # Bare keywords (出生登记, 港澳签注) are naturally shared; whole questions must not be.
    copied = {q for q in asked & phrasings if len(q) > 8}
    assert not copied


def test_words_that_leave_the_matter_open_ask_which_one(shipped_kb: KnowledgeBase) -> None:
    # 迁户口 may be moving in or out, 开证明 a household or a no-criminal-record certificate: an officer asks
    # which, so the entries share these words and the bare word is "which one?", never an answer.
    from bot.core.understanding.corpus import Corpus
    from bot.core.understanding.lexical import LexicalScorer

    normalizer = Normalizer(shipped_kb.synonyms)
    domain = {normalizer(k).replace(" ", "") for e in shipped_kb.entries.values() for k in e.keywords}
    lexical = LexicalScorer(Corpus.from_kb(shipped_kb), normalizer, domain)
    for bare in ("迁户口", "户口迁移", "开证明", "居住证"):
        assert lexical.is_bare_shared_word(lexical.segmenter.segment(normalizer(bare))), bare
    for named in ("迁出户口", "户口迁入", "无犯罪记录证明", "港澳台居民居住证"):
        assert not lexical.is_bare_shared_word(lexical.segmenter.segment(normalizer(named))), named


def test_chat_abbreviations_of_documents_read_as_the_documents(shipped_kb: KnowledgeBase) -> None:
    # Residents type the pinyin initials of the words they use most (sfz 身份证, jsz 驾驶证, pcs 派出所);
    # as whole Latin words only, so that no English word is touched.
    normalize = Normalizer(shipped_kb.synonyms)
    for typed, meant in (
        ("sfz到期了要换", "身份证到期了要换"),
        ("SFZ丢了咋补", "身份证丢了咋补"),
        ("jsz扣满12分了", "驾驶证扣满12分了"),
        ("xsz丢了", "行驶证丢了"),
        ("去哪个pcs办", "去哪个派出所办"),
    ):
        assert normalize(typed) == normalize(meant), typed
    assert "身份证" not in normalize("sfzx")
