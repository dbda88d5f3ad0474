"""Reading knowledge/ into a core KnowledgeBase: all files validated, or nothing loaded.

Every problem is collected (not just the first) and reported with file, entry id and field, so an
editor can fix a whole batch in one go.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bot.core.knowledge import KnowledgeBase
from bot.core.models import Answer, Community, Entry, Officer, Referral
from bot.kb.schema import (
    AnswerModel,
    ApprovedFileModel,
    BaseFileModel,
    CommunityFileModel,
    EntryModel,
    ReferralsFileModel,
    SynonymsFileModel,
)

M = TypeVar("M", bound=BaseModel)
# libyaml's safe loader is ~10x faster than the pure-Python one; both refuse arbitrary objects.
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Problem:
    file: str
    entry: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.entry:
            where += f": entry {self.entry}"
        if self.field:
            where += f": field {self.field}"
        return f"{where}: {self.message}"


class KnowledgeError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"knowledge base rejected ({len(problems)} problem(s)):\n{lines}")


def load_knowledge(directory: Path) -> KnowledgeBase:
    return _Loader(Path(directory)).load()


class _Loader:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.problems: list[Problem] = []

    def load(self) -> KnowledgeBase:
        if not self.dir.is_dir():
            raise KnowledgeError([Problem(str(self.dir), None, None, "knowledge directory not found")])
        base_files = sorted((self.dir / "base").glob("*.yaml"))
        if not base_files:
            self._problem(self.dir / "base", None, None, "no base/*.yaml files")

        entries: dict[str, Entry] = {}
        origin: dict[str, Path] = {}
        base_complete = True
        for path in base_files:
            model = self._parse(path, BaseFileModel)
            base_complete = base_complete and model is not None
            if model is not None:
                for em in model.entries:
                    self._add_entry(entries, origin, path, em, community=None)

        communities: dict[str, Community] = {}
        overrides: dict[tuple[str, str], Answer] = {}
        hidden: dict[str, frozenset[str]] = {}
        base_ids = set(entries)
        for path in sorted((self.dir / "communities").glob("*.yaml")):
            cm = self._parse(path, CommunityFileModel)
            if cm is None:
                continue
            if cm.slug != path.stem:
                self._problem(path, None, "slug", f"slug {cm.slug!r} must equal the file name {path.stem!r}")
            communities[cm.slug] = _community(cm)
            for em in cm.entries:
                self._add_entry(entries, origin, path, em, community=cm.slug)
            # When a base file was rejected its entries are unknown: missing-entry reports would be noise.
            for entry_id, override in cm.overrides.items():
                if entry_id not in base_ids:
                    if base_complete:
                        self._problem(
                            path, entry_id, "overrides", "overrides a base entry that does not exist"
                        )
                    continue
                patch = override.answer.model_dump(exclude_none=True)
                overrides[(cm.slug, entry_id)] = replace(
                    entries[entry_id].answer, **{k: _tuple(v) for k, v in patch.items()}
                )
            for entry_id in cm.hide:
                if entry_id not in base_ids and base_complete:
                    self._problem(path, entry_id, "hide", "hides a base entry that does not exist")
            hidden[cm.slug] = frozenset(cm.hide)

        for path in sorted((self.dir / "approved").glob("*.yaml")):
            am = self._parse(path, ApprovedFileModel)
            if am is None:
                continue
            if am.community is not None and am.community not in communities:
                self._problem(path, None, "community", f"unknown community {am.community!r}")
                continue
            for em in am.entries:
                self._add_entry(entries, origin, path, em, community=am.community)

        synonyms: tuple[tuple[str, ...], ...] = ()
        syn_path = self.dir / "synonyms.yaml"
        if syn_path.exists():
            sm = self._parse(syn_path, SynonymsFileModel)
            if sm is not None:
                synonyms = self._check_synonyms(syn_path, sm)

        referrals: dict[str, Referral] = {}
        ref_path = self.dir / "referrals.yaml"
        if ref_path.exists():
            rm = self._parse(ref_path, ReferralsFileModel)
            for topic in rm.topics if rm is not None else []:
                if topic.id in referrals or topic.id in entries:
                    self._problem(ref_path, topic.id, "id", "duplicate id")
                    continue
                referrals[topic.id] = Referral(
                    topic.id, topic.title, topic.handled_by, tuple(topic.questions), tuple(topic.keywords)
                )

        if self.problems:
            raise KnowledgeError(self.problems)
        return KnowledgeBase(
            entries=entries,
            communities=communities,
            overrides=overrides,
            hidden=hidden,
            synonyms=synonyms,
            referrals=referrals,
        )

    def _parse(self, path: Path, model: type[M]) -> M | None:
        try:
            raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_YamlLoader)
        except UnicodeDecodeError as exc:
            self._problem(path, None, None, f"not UTF-8 text ({exc.reason})")
            return None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            self._problem(path, None, None, f"invalid YAML{at}: {getattr(exc, 'problem', exc)}")
            return None
        if not isinstance(raw, dict):
            self._problem(path, None, None, "the file must be a mapping (key: value) at the top level")
            return None
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                entry, fieldpath = _locate(raw, err["loc"])
                self._problem(path, entry, fieldpath, err["msg"])
            return None

    def _add_entry(
        self,
        entries: dict[str, Entry],
        origin: dict[str, Path],
        path: Path,
        em: EntryModel,
        community: str | None,
    ) -> None:
        if em.id in entries:
            self._problem(path, em.id, "id", f"duplicate id (already defined in {origin[em.id].name})")
            return
        entries[em.id] = _entry(em, community)
        origin[em.id] = path

    def _check_synonyms(self, path: Path, sm: SynonymsFileModel) -> tuple[tuple[str, ...], ...]:
        seen: dict[str, int] = {}
        for i, group in enumerate(sm.groups):
            for word in group:
                key = word.lower()
                if key in seen and seen[key] != i:
                    self._problem(path, None, f"groups[{i}]", f"{word!r} is already in group {seen[key]}")
                seen[key] = i
        return tuple(tuple(g) for g in sm.groups)

    def _problem(self, path: Path, entry: str | None, fieldpath: str | None, message: str) -> None:
        self.problems.append(Problem(_display(path, self.dir), entry, fieldpath, message))


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


def _locate(raw: dict[str, Any], loc: tuple[Any, ...]) -> tuple[str | None, str | None]:
    """Turn a pydantic location like ('entries', 3, 'answer', 'materials') into (entry id, field)."""
    if len(loc) >= 2 and loc[0] in ("entries", "topics") and isinstance(loc[1], int):
        items = raw.get(loc[0]) or []
        item = items[loc[1]] if loc[1] < len(items) else None
        entry_id = item.get("id") if isinstance(item, dict) else None
        label = str(entry_id) if entry_id else f"#{loc[1] + 1}"
        rest = ".".join(str(p) for p in loc[2:]) or None
        return label, rest
    if len(loc) >= 2 and loc[0] == "overrides":
        return str(loc[1]), ".".join(str(p) for p in loc[2:]) or "overrides"
    return None, ".".join(str(p) for p in loc) or None


def _tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _answer(am: AnswerModel) -> Answer:
    return Answer(
        summary=am.summary,
        who=am.who,
        materials=tuple(am.materials),
        steps=tuple(am.steps),
        where=am.where,
        fees=am.fees,
        time_limit=am.time_limit,
        legal_basis=am.legal_basis,
        tips=tuple(am.tips),
    )


def _entry(em: EntryModel, community: str | None) -> Entry:
    return Entry(
        id=em.id,
        section=em.section,
        category=em.category,
        kind=em.kind,
        title=em.title,
        questions=tuple(em.questions),
        keywords=tuple(em.keywords),
        answer=_answer(em.answer),
        checked=em.checked,
        source=em.source,
        community=community,
        not_covered=tuple(em.not_covered),
        local_rules=em.rules == "local",
    )


def _community(cm: CommunityFileModel) -> Community:
    return Community(
        slug=cm.slug,
        name=cm.name,
        district=cm.district,
        sample=cm.sample,
        station_name=cm.station.name,
        station_phone=cm.station.phone,
        office_address=cm.office.address,
        office_hours=cm.office.hours,
        office_phone=cm.office.phone,
        officers=tuple(Officer(o.name, o.role, o.contact, o.telegram_id) for o in cm.officers),
        officer_chat_id=cm.officer_chat_id,
    )
