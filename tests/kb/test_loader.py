"""The loader accepts a whole knowledge base or rejects it, naming file, entry and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bot.kb.loader import KnowledgeError, load_knowledge
from tests.conftest import FIXTURE_KB


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(FIXTURE_KB, target)
    return target


def _edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def _problems(kb_dir: Path) -> list[str]:
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(kb_dir)
    return [str(p) for p in info.value.problems]


def test_fixture_loads(kb_dir: Path) -> None:
    kb = load_knowledge(kb_dir)
    assert set(kb.communities) == {"gongyuan", "hexi"}
    assert "gongyuan.patrol" in kb.entries and kb.entries["gongyuan.patrol"].community == "gongyuan"
    assert "refer.utilities" in kb.referrals


def test_missing_field_names_file_entry_and_field(kb_dir: Path) -> None:
    _edit(kb_dir / "base/idcard.yaml", lambda d: d["entries"][1]["answer"].pop("summary"))
    assert _problems(kb_dir) == [
        "knowledge/base/idcard.yaml: entry idcard.renew: field answer.summary: Field required"
    ]


def test_unknown_section_and_too_few_questions(kb_dir: Path) -> None:
    def change(d):
        d["entries"][0]["section"] = "便民服务"
        d["entries"][0]["questions"] = d["entries"][0]["questions"][:2]

    _edit(kb_dir / "base/idcard.yaml", change)
    problems = _problems(kb_dir)
    assert any("entry idcard.lost: field section" in p for p in problems)
    assert any("entry idcard.lost: field questions" in p for p in problems)


def test_procedure_without_materials(kb_dir: Path) -> None:
    _edit(kb_dir / "base/idcard.yaml", lambda d: d["entries"][0]["answer"].pop("materials"))
    (problem,) = _problems(kb_dir)
    assert problem.startswith("knowledge/base/idcard.yaml: entry idcard.lost")
    assert "materials" in problem


def test_not_covered_is_loaded_as_the_entry_scope(kb_dir: Path) -> None:
    _edit(kb_dir / "base/idcard.yaml", lambda d: d["entries"][0].update(not_covered=["护照丢了怎么补"]))
    assert load_knowledge(kb_dir).entries["idcard.lost"].not_covered == ("护照丢了怎么补",)


def test_not_covered_repeating_an_own_question_names_file_entry_and_field(kb_dir: Path) -> None:
    def change(d):
        own = d["entries"][0]["questions"][0]
        d["entries"][0]["not_covered"] = ["护照丢了怎么补", f" {own}？"]

    _edit(kb_dir / "base/idcard.yaml", change)
    (problem,) = _problems(kb_dir)
    assert problem.startswith("knowledge/base/idcard.yaml: entry idcard.lost: field not_covered")
    assert "repeats" in problem


def test_whose_rules_an_entry_states_is_local_unless_said_national(kb_dir: Path) -> None:
    assert load_knowledge(kb_dir).entries["idcard.lost"].local_rules
    _edit(kb_dir / "base/idcard.yaml", lambda d: d["entries"][0].update(rules="national"))
    assert not load_knowledge(kb_dir).entries["idcard.lost"].local_rules
    _edit(kb_dir / "base/idcard.yaml", lambda d: d["entries"][0].update(rules="provincial"))
    (problem,) = _problems(kb_dir)
    assert problem.startswith("knowledge/base/idcard.yaml: entry idcard.lost: field rules")


def test_duplicate_ids_across_files(kb_dir: Path) -> None:
    _edit(kb_dir / "base/prevention.yaml", lambda d: d["entries"][0].update(id="idcard.lost"))
    (problem,) = _problems(kb_dir)
    assert "knowledge/base/prevention.yaml: entry idcard.lost: field id" in problem
    assert "idcard.yaml" in problem


def test_overlay_of_a_missing_base_entry(kb_dir: Path) -> None:
    def change(d):
        d["overrides"]["idcard.nothing"] = {"answer": {"where": "x"}}
        d["hide"].append("hukou.nothing")

    _edit(kb_dir / "communities/gongyuan.yaml", change)
    problems = _problems(kb_dir)
    expected = "entry idcard.nothing: field overrides: overrides a base entry that does not exist"
    assert f"knowledge/communities/gongyuan.yaml: {expected}" in problems
    assert any("entry hukou.nothing: field hide" in p for p in problems)


def test_unknown_keys_are_rejected(kb_dir: Path) -> None:
    _edit(kb_dir / "base/idcard.yaml", lambda d: d["entries"][0].update(answr="typo"))
    (problem,) = _problems(kb_dir)
    assert "entry idcard.lost: field answr" in problem


def test_invalid_yaml_names_the_line(kb_dir: Path) -> None:
    (kb_dir / "base/broken.yaml").write_text("entries:\n  - id: a\n    title: [unclosed\n", encoding="utf-8")
    (problem,) = _problems(kb_dir)
    assert problem.startswith("knowledge/base/broken.yaml: invalid YAML at line")


def test_binary_file_is_reported_not_crashed(kb_dir: Path) -> None:
    (kb_dir / "base/binary.yaml").write_bytes(b"\xff\xfe\x00\x00garbage")
    (problem,) = _problems(kb_dir)
    assert "base/binary.yaml" in problem and "UTF-8" in problem


def test_slug_must_match_file_name(kb_dir: Path) -> None:
    _edit(kb_dir / "communities/hexi.yaml", lambda d: d.update(slug="hexi-two"))
    (problem,) = _problems(kb_dir)
    assert "communities/hexi.yaml" in problem and "slug" in problem


def test_a_synonym_in_two_groups(kb_dir: Path) -> None:
    _edit(kb_dir / "synonyms.yaml", lambda d: d["groups"].append(["补办", "重办"]))
    (problem,) = _problems(kb_dir)
    assert "synonyms.yaml" in problem and "补办" in problem


def test_all_problems_are_reported_and_nothing_is_loaded(kb_dir: Path) -> None:
    _edit(kb_dir / "base/idcard.yaml", lambda d: d["entries"][0].pop("title"))
    _edit(kb_dir / "base/prevention.yaml", lambda d: d["entries"][0].update(kind="story"))
    problems = _problems(kb_dir)
    assert len(problems) == 2
