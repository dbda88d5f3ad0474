"""The shape of the YAML files police staff edit, as pydantic models (strict: unknown keys are errors)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from bot.core.models import CATEGORIES, KINDS, SECTIONS

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
OptionalText = Annotated[str, StringConstraints(strip_whitespace=True)]
EntryId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$", max_length=60)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*[a-z0-9]$", max_length=40)]

Section = Literal[SECTIONS]  # type: ignore[valid-type]
Category = Literal[CATEGORIES]  # type: ignore[valid-type]
Kind = Literal[KINDS]  # type: ignore[valid-type]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AnswerModel(_Strict):
    summary: Text
    who: OptionalText = ""
    materials: list[Text] = []
    steps: list[Text] = []
    where: OptionalText = ""
    fees: OptionalText = ""
    time_limit: OptionalText = ""
    legal_basis: OptionalText = ""
    tips: list[Text] = []


class EntryModel(_Strict):
    id: EntryId
    section: Section
    category: Category
    kind: Kind
    title: Text
    questions: list[Text] = Field(min_length=5)
    keywords: list[Text] = Field(min_length=1)
    # What residents ask that sounds like this entry but is not it (上牌 is not 防盗): the entry's
    # negatives when the matcher learns, and its scope as officers see it.
    not_covered: list[Text] = []
    # Whose rules the answer states: `national` (the same in every city: 身份证, 护照, 驾驶证) or
    # `local` (this city's conditions, fees, offices or bans: 落户条件, 居住证, 电动车上牌, 禁放). A
    # question about another city's local rules goes to an officer, however well its words match.
    # Local by default: an entry nobody classified is not offered as another city's answer.
    rules: Literal["national", "local"] = "local"
    answer: AnswerModel
    checked: date | None = None
    source: OptionalText = ""

    @field_validator("questions")
    @classmethod
    def _distinct_questions(cls, questions: list[str]) -> list[str]:
        if len(set(questions)) != len(questions):
            raise ValueError("questions must be distinct")
        return questions

    @field_validator("not_covered")
    @classmethod
    def _not_covered_is_not_a_question(cls, not_covered: list[str], info: ValidationInfo) -> list[str]:
        # Fields are validated in declaration order: title and questions are known here when valid.
        own = {_squash(q) for q in (*info.data.get("questions", ()), info.data.get("title", ""))}
        clash = [q for q in not_covered if _squash(q) in own]
        if clash:
            raise ValueError(f"not_covered repeats the entry's own question or title: {clash[0]!r}")
        return not_covered

    @model_validator(mode="after")
    def _procedure_needs_materials(self) -> EntryModel:
        if self.kind == "procedure" and not self.answer.materials:
            raise ValueError("a procedure must list its materials (answer.materials), 一次性告知")
        return self


def _squash(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


class BaseFileModel(_Strict):
    entries: list[EntryModel] = Field(min_length=1)


class ApprovedFileModel(_Strict):
    """knowledge/approved/*.yaml: officers' answers an admin approved (written by `policebot kb export`)."""

    community: Slug | None = None
    entries: list[EntryModel] = Field(min_length=1)


class AnswerOverrideModel(_Strict):
    summary: Text | None = None
    who: OptionalText | None = None
    materials: list[Text] | None = None
    steps: list[Text] | None = None
    where: OptionalText | None = None
    fees: OptionalText | None = None
    time_limit: OptionalText | None = None
    legal_basis: OptionalText | None = None
    tips: list[Text] | None = None


class OverrideModel(_Strict):
    answer: AnswerOverrideModel


class StationModel(_Strict):
    name: Text
    phone: OptionalText = ""


class OfficeModel(_Strict):
    address: Text
    hours: Text
    phone: OptionalText = ""


class OfficerModel(_Strict):
    name: Text
    role: Text
    contact: OptionalText = ""
    telegram_id: int | None = None


class CommunityFileModel(_Strict):
    slug: Slug
    name: Text
    district: Text
    sample: bool = False
    station: StationModel
    office: OfficeModel
    officers: list[OfficerModel] = Field(min_length=1)
    officer_chat_id: int | None = None
    overrides: dict[EntryId, OverrideModel] = {}
    entries: list[EntryModel] = []
    hide: list[EntryId] = []


class SynonymsFileModel(_Strict):
    groups: list[Annotated[list[Text], Field(min_length=2)]]


class ReferralModel(_Strict):
    id: Annotated[str, StringConstraints(pattern=r"^refer\.[a-z0-9][a-z0-9-]*$", max_length=60)]
    title: Text
    handled_by: Text
    questions: list[Text] = Field(min_length=5)
    keywords: list[Text] = Field(min_length=1)


class ReferralsFileModel(_Strict):
    topics: list[ReferralModel]
