import pytest

from bot.core.knowledge import KnowledgeBase, UnknownCommunityError


def test_placeholders_take_the_communitys_own_facts(small_kb: KnowledgeBase) -> None:
    entry = small_kb.entry_for("gongyuan", "community.office")
    assert entry.answer.summary == "公园社区警务室位于公园路1号，办公时间工作日9:00-17:00。"
    other = small_kb.entry_for("hexi", "community.office")
    assert "河西路2号" in other.answer.summary


def test_without_a_community_placeholders_become_generic_guidance(small_kb: KnowledgeBase) -> None:
    summary = small_kb.entry_for(None, "community.office").answer.summary
    assert "{" not in summary and "本社区" in summary


def test_overrides_apply_only_to_their_community(small_kb: KnowledgeBase) -> None:
    assert small_kb.entry_for("gongyuan", "idcard.renew").answer.where == "公园社区警务室代收材料"
    assert small_kb.entry_for("hexi", "idcard.renew").answer.where == ""
    # fields not overridden come from the base entry
    assert small_kb.entry_for("gongyuan", "idcard.renew").answer.fees == "每证20元"


def test_visibility(small_kb: KnowledgeBase) -> None:
    assert "hukou.birth" not in small_kb.visible_ids("gongyuan")
    assert "gongyuan.patrol" in small_kb.visible_ids("gongyuan")
    assert "gongyuan.patrol" not in small_kb.visible_ids("hexi")
    assert "hukou.birth" in small_kb.visible_ids("hexi")


def test_unknown_community_is_a_clear_error(small_kb: KnowledgeBase) -> None:
    with pytest.raises(UnknownCommunityError) as info:
        small_kb.community("nowhere")
    assert "gongyuan" in str(info.value) and "hexi" in str(info.value)
