"""Admins: the dashboard (figures, charts, gaps in the knowledge), knowledge drafts to approve, exports
and the annual-report paragraph. Every route is @admin_only."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from bot.channels.web.body import form_fields
from bot.channels.web.charting import CHART_KINDS, chart_tables
from bot.channels.web.exports import send_csv, send_xlsx
from bot.channels.web.filters import StatsFilter, today_in
from bot.channels.web.identity import admin_only, staff_of
from bot.channels.web.keys import CHARTS, CONTAINER, REPORTS
from bot.channels.web.pages import flash, render
from bot.channels.web.views import local_time
from bot.core.knowledge import UnknownCommunityError
from bot.core.models import AUDIT_ACTIONS, CATEGORIES, SECTIONS, Draft
from bot.core.ports import ConflictError
from bot.services.drafts import MIN_QUESTIONS, Approval
from bot.services.reports import ESCALATION_LABELS, AdminReport, annual_paragraph, year_query
from bot.wiring import Container

OUTCOME_LABELS = {"answer": "机器人解答", "clarify": "追问澄清", "escalate": "转民警"}
SATISFACTION_LABELS = {"satisfied": "满意", "basically": "基本满意", "unsatisfied": "不满意"}
HELPFULNESS_LABELS = {"useful": "有用", "not_useful": "没用"}
CHART_TITLES = {
    "days": "每日咨询量",
    "topics": "热门话题",
    "communities": "各社区咨询量",
    "outcomes": "解答 / 澄清 / 转民警",
    "escalations": "转办工单与办结",
    "satisfaction": "群众满意度",
}

routes = web.RouteTableDef()


@routes.get("/admin", name="admin")
@admin_only
async def dashboard(request: web.Request) -> web.Response:
    container = request.app[CONTAINER]
    selected = _filter(request)
    report = await request.app[REPORTS].fresh(
        selected.query(container.settings.timezone), container.reports.report
    )
    pending = await container.drafts.list()
    context = {
        "filter": selected,
        "params": selected.params(),
        "communities": _communities(container),
        "figures": _figures(report),
        "charts": [{"kind": k, "title": CHART_TITLES[k]} for k in CHART_KINDS],
        "tables": chart_tables(report, container.kb, selected),
        "unanswered": report.unanswered,
        "clarified": report.clarified,
        "pending_drafts": len(pending),
        "year": today_in(container.settings.timezone).year,
    }
    return await render(request, "admin.html", context)


@routes.get("/admin/chart/{kind}.png", name="chart")
@admin_only
async def chart(request: web.Request) -> web.Response:
    kind = request.match_info["kind"]
    if kind not in CHART_KINDS:
        raise web.HTTPNotFound()
    container = request.app[CONTAINER]
    query = _filter(request).query(container.settings.timezone)
    report = await request.app[REPORTS].get(query, container.reports.report)
    titles = {eid: e.title for eid, e in container.kb.entries.items()}
    names = {slug: c.name for slug, c in container.kb.communities.items()}
    png = await request.app[CHARTS].png(kind, report, titles, names)
    # Not cached by the browser (the security headers say no-store): the same URL shows new counts.
    return web.Response(body=png, content_type="image/png")


@routes.get("/admin/export/{what:consultations|escalations}.{fmt:csv|xlsx}", name="export")
@admin_only
async def export(request: web.Request) -> web.StreamResponse:
    container = request.app[CONTAINER]
    tz = container.settings.timezone
    selected = _filter(request)
    query = selected.query(tz)
    what, fmt = request.match_info["what"], request.match_info["fmt"]
    header, rows = container.exports.rows(what, query)
    sheet = "咨询" if what == "consultations" else "工单"
    filename = f"{what}-{selected.since.isoformat()}-{selected.until.isoformat()}.{fmt}"
    place = container.exports.period_title(what, query)
    await container.audit.record(staff_of(request), "export", f"{what}.{fmt}", place)
    if fmt == "csv":
        return await send_csv(request, filename, header, rows, tz)
    title = container.exports.period_title(what, query)
    return await send_xlsx(request, filename, sheet, header, rows, tz, title)


@routes.get("/admin/audit", name="audit")
@admin_only
async def audit(request: web.Request) -> web.Response:
    """Who did what: officers' and admins' actions, newest first (kept apart from consultations)."""
    container = request.app[CONTAINER]
    action = request.query.get("action") or None
    if action not in AUDIT_ACTIONS:
        action = None
    tz = container.settings.timezone
    entries = await container.audit.recent(200, action)
    items = [
        {
            "at": local_time(e.at, tz),
            "who": e.staff_name,
            "action": AUDIT_ACTIONS.get(e.action, e.action),
            "target": e.target,
            "detail": e.detail,
        }
        for e in entries
    ]
    actions = list(AUDIT_ACTIONS.items())
    return await render(
        request, "audit.html", {"entries": items, "actions": actions, "selected": action or ""}
    )


@routes.get("/admin/annual", name="annual")
@admin_only
async def annual(request: web.Request) -> web.Response:
    container = request.app[CONTAINER]
    tz = container.settings.timezone
    this_year = today_in(tz).year
    try:
        year = int(request.query.get("year", this_year))
    except ValueError:
        year = this_year
    year = min(max(year, 2000), this_year)
    community = request.query.get("community") or None
    if community not in container.kb.communities:
        community = None
    report = await container.reports.report(year_query(year, tz, community))
    count = 1 if community else len(container.kb.communities)
    context = {
        "year": year,
        "community": community,
        "communities": _communities(container),
        "figures": _figures(report),
        "paragraph": annual_paragraph(year, report, count),
    }
    return await render(request, "annual.html", context)


@routes.get("/admin/drafts", name="drafts")
@admin_only
async def drafts(request: web.Request) -> web.Response:
    return await _drafts_page(request)


@routes.post("/admin/drafts/{draft_id:\\d+}/approve")
@admin_only
async def approve(request: web.Request) -> web.Response:
    container = request.app[CONTAINER]
    draft_id = int(request.match_info["draft_id"])
    form = await form_fields(request)
    try:
        community, communities = _chosen_scope(form)
        approval = Approval(
            title=str(form.get("title", "")).strip(),
            questions=tuple(
                line.strip() for line in str(form.get("questions", "")).splitlines() if line.strip()
            ),
            answer=str(form.get("answer", "")).strip(),
            community=community,
            section=str(form.get("section", "")),
            category=str(form.get("category", "")),
            communities=communities,
        )
        entries = await container.drafts.approve_all(staff_of(request), draft_id, approval)
    except (ValueError, UnknownCommunityError) as exc:
        message = str(exc) if isinstance(exc, ValueError) else f"没有这个社区（{exc.slug}），请重新选择。"
        return await _drafts_page(request, edited={draft_id: _kept(form, message)}, status=400)
    except ConflictError:
        await flash(request, f"草稿 #{draft_id} 已被其他管理员处理。", "error")
    else:
        ids = "、".join(entry.id for entry in entries)
        await flash(request, f"草稿 #{draft_id} 已审核通过并上线（条目 {ids}）。")
    raise web.HTTPSeeOther(request.app.router["drafts"].url_for())


@routes.post("/admin/drafts/{draft_id:\\d+}/reject")
@admin_only
async def reject(request: web.Request) -> web.Response:
    container = request.app[CONTAINER]
    draft_id = int(request.match_info["draft_id"])
    try:
        await container.drafts.reject(staff_of(request), draft_id)
    except ConflictError:
        await flash(request, f"草稿 #{draft_id} 已被其他管理员处理。", "error")
    else:
        await flash(request, f"草稿 #{draft_id} 已退回。")
    raise web.HTTPSeeOther(request.app.router["drafts"].url_for())


# ---- helpers ------------------------------------------------------------------------------------


async def _drafts_page(
    request: web.Request, *, edited: dict[int, dict[str, Any]] | None = None, status: int = 200
) -> web.Response:
    container = request.app[CONTAINER]
    edited = edited or {}
    items = [_draft_form(container, d, edited.get(d.id)) for d in await container.drafts.list()]
    context = {
        "drafts": items,
        "communities": _communities(container),
        "sections": SECTIONS,
        "categories": CATEGORIES,
        "min_questions": MIN_QUESTIONS,
    }
    return await render(request, "drafts.html", context, status=status)


# The scope field: "city", "several" (the ticked `communities`), or one community's slug (本社区).
# Slugs are lower-case letters, digits and dashes, so a community could in principle be called "city" or
# "several"; knowledge/ has neither, and the form would need other field names if it ever did.
CITY_WIDE = "city"
SEVERAL = "several"


def _chosen_scope(form: MultiDictProxy[Any]) -> tuple[str | None, tuple[str, ...]]:
    """(community, communities) for an Approval; ValueError with what the admin must fix. Nothing is
    assumed: a local answer must not go city-wide, nor the reverse, by default."""
    scope = str(form.get("scope", ""))
    ticked = tuple(str(slug) for slug in form.getall("communities", ()))
    if not scope:
        raise ValueError("请选择适用范围：全市通用、本社区，或多个社区。")
    if scope != SEVERAL:
        # Ticks under another choice are a contradiction: guessing which one was meant could put an
        # answer where it does not apply.
        if ticked:
            raise ValueError("勾选的社区只在选择“多个社区”时有效：请改选“多个社区”，或取消勾选。")
        return (None if scope == CITY_WIDE else scope), ()
    if not ticked:
        raise ValueError("选择了“多个社区”，请勾选适用的社区。")
    # One tick is accepted as that community alone (the service records it like any single community):
    # it says exactly where the answer applies, and it is the only way to approve for one community other
    # than the one the question came from, or for one community when the draft has none.
    return None, ticked


def _kept(form: MultiDictProxy[Any], error: str) -> dict[str, Any]:
    """The form as sent, to show again with the error (dict() alone would keep one ticked community)."""
    return dict(form) | {"ticked": tuple(str(s) for s in form.getall("communities", ())), "error": error}


def _draft_form(container: Container, draft: Draft, edited: dict[str, Any] | None) -> dict[str, Any]:
    tz = container.settings.timezone
    edited = edited or {}
    base = {
        "title": draft.title,
        "questions": draft.question,
        "answer": draft.answer,
        "section": "为您服务",
        "category": "社区警务",
        "error": None,
    }
    values = base | {k: str(v) for k, v in edited.items() if k in base}
    own = container.kb.communities.get(draft.community or "")
    return {
        "id": draft.id,
        "created": local_time(draft.created_at, tz),
        "ticket": f"WJ{draft.escalation_id:06d}" if draft.escalation_id else None,
        "original_question": draft.question,
        # 本社区 is offered when the question came from a community the knowledge base still has.
        "own": {"slug": own.slug, "name": own.name} if own else None,
        # The scope chosen on a form sent back with an error; never preselected otherwise.
        "scope_chosen": str(edited.get("scope", "")),
        "ticked": frozenset(edited.get("ticked", ())),
        **values,
    }


def _filter(request: web.Request) -> StatsFilter:
    container = request.app[CONTAINER]
    return StatsFilter.from_params(
        request.query, today=today_in(container.settings.timezone), communities=container.kb.communities
    )


def _communities(container: Container) -> list[dict[str, str]]:
    ordered = sorted(container.kb.communities.values(), key=lambda c: (c.district, c.name))
    return [{"slug": c.slug, "name": f"{c.district} {c.name}"} for c in ordered]


def _figures(report: AdminReport) -> dict[str, Any]:
    s = report.snapshot
    r = report.response
    escalated = sum(s.escalations.values())
    return {
        "total": s.total,
        "asked": report.asked,
        "menu_views": s.menu_views,
        "urgent": s.urgent,
        # Questions only: the three add up to 群众提问 (guide views have their own figure).
        "outcomes": [(OUTCOME_LABELS.get(k, k), v) for k, v in report.questions_by_outcome.items()],
        "escalations": [(ESCALATION_LABELS.get(k, k), v) for k, v in s.escalations.items()],
        "escalated": escalated,
        "answer_rate": _percent(report.answer_rate),
        "response_answered": r.answered,
        "response_median": _duration(r.median_minutes),
        "response_p90": _duration(r.p90_minutes),
        "within_due": _percent(r.within_due / r.answered if r.answered else None),
        "satisfaction": [(SATISFACTION_LABELS.get(k, k), v) for k, v in s.satisfaction.items()],
        "satisfaction_rate": _percent(report.satisfaction_rate),
        "helpfulness": [(HELPFULNESS_LABELS.get(k, k), v) for k, v in s.feedback.items()],
    }


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _duration(minutes: float | None) -> str:
    if minutes is None:
        return "—"
    if minutes < 60:
        return f"{minutes:.0f} 分钟"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} 小时"
    return f"{minutes / 1440:.1f} 天"
