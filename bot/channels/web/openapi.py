"""The API's OpenAPI 3 description, served at /api/v1/openapi.json.

The enumerations come from the models that produce the values, so that a new kind of notice or
emergency cannot leave the document behind. tests/web/test_openapi_fuzz.py sends generated requests
to every operation and checks the answers against this document."""

from __future__ import annotations

from enum import Enum
from typing import Any

from bot.channels.untrusted import MAX_JSON_DEPTH
from bot.channels.web.security import SESSION_COOKIE
from bot.core.conversation import FIELDS
from bot.core.models import CloseReason, EscalationStatus, Outcome
from bot.core.replies import Notice
from bot.core.triage.kinds import UrgentKind

# A longer question is read from its beginning, with notice "truncated": a resident who pastes a long
# story gets an answer, not an error. The service matches on fewer characters still.
MAX_QUESTION_CHARS = 4000
# A local day of the figures asked for: a date of 2000 to 2099 (the API checks it with this pattern).
STATS_DAY_PATTERN = "^20[0-9]{2}-[0-9]{2}-[0-9]{2}$"

_RESIDENT = {
    "type": "string",
    "pattern": "^[A-Za-z0-9_.:-]{8,64}$",
    "description": "A pseudonym for the resident, kept by the calling site. Use an unguessable value: "
    "whoever knows it can read that resident's tickets. Omit it on the first question to get one.",
}
_CONVERSATION = {
    "type": "string",
    "pattern": "^[A-Za-z0-9_.:-]{1,64}$",
    "description": "Names the resident's conversation (one chat window): a follow-up such as 要多少钱 is "
    "read against the earlier questions of the same resident and conversation, for 30 minutes. Omit it "
    "and every question stands alone.",
}
_TEXT = {"type": "string"}
_NULLABLE_TEXT = {"type": ["string", "null"]}
_COUNT = {"type": "integer", "minimum": 0}
_COUNTS = {"type": "object", "additionalProperties": _COUNT}
_RATE = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
_STATS_DAY = {"type": "string", "format": "date", "pattern": STATS_DAY_PATTERN}
# Local times as people read them on a ticket; empty when there is none (yet).
_LOCAL_TIME = {"type": "string", "pattern": "^([0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2})?$"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _one_of(values: type[Enum], *, nullable: bool = False) -> dict[str, Any]:
    names = [member.value for member in values]
    if nullable:
        return {"type": ["string", "null"], "enum": [*names, None]}
    return {"type": "string", "enum": names}


def _reply_schema() -> dict[str, Any]:
    """One reply; the top level of /api/v1/ask and /api/v1/escalate adds `resident`."""
    return {
        "type": "object",
        "required": ["outcome", "entry_id", "candidates", "score", "urgent", "text", "ticket"],
        "properties": {
            "outcome": _one_of(Outcome),
            "entry_id": _NULLABLE_TEXT,
            "candidates": {"type": "array", "items": _TEXT, "description": "entry ids offered (clarify)"},
            "score": {"type": "number", "minimum": 0, "maximum": 100, "description": "confidence"},
            "urgent": {"type": "boolean", "description": "an emergency: show `emergency` first"},
            "urgent_kind": {
                **_one_of(UrgentKind, nullable=True),
                "description": "what the emergency is; its guidance and numbers lead the reply",
            },
            "urgent_also": {
                **_one_of(UrgentKind, nullable=True),
                "description": "a second kind the message may also be; its numbers follow in `numbers`",
            },
            "numbers": {"type": "array", "items": _TEXT, "description": "numbers to call, first one first"},
            "resident_token": {
                **_TEXT,
                "description": "the resident's key to GET /api/v1/escalations (keep it with the pseudonym)",
            },
            "confidence": {
                "type": "number",
                "minimum": 0,
                "maximum": 1,
                "description": "calibrated probability that the top entry is right",
            },
            "evidence": {
                "type": ["object", "null"],
                "description": "why the matcher decided: scorer, phrasing, scores (0-1), uncovered words",
                "properties": {
                    "scorer": _TEXT,
                    "phrasing": _TEXT,
                    "scores": {"type": "object", "additionalProperties": {"type": "number"}},
                    "uncovered": {"type": "array", "items": _TEXT},
                },
            },
            "reason": {
                **_TEXT,
                "description": "why this band, e.g. clear match, several close matches, emergency: ...",
            },
            "community": _TEXT,
            "matched": _NULLABLE_TEXT,
            "ticket": {**_NULLABLE_TEXT, "description": "escalation ticket number, e.g. WJ000042"},
            "due_at": {**_NULLABLE_TEXT, "format": "date-time", "description": "promised answer time"},
            "consultation_id": {"type": ["integer", "null"]},
            "notice": {
                **_one_of(Notice, nullable=True),
                "description": "empty: nothing to read; truncated: only the beginning was read; held: not "
                "passed to the officers (this resident's tickets were marked 无效信息)",
            },
            "text": {"type": "string", "description": "the whole reply as plain text, ready to show"},
            "emergency": _NULLABLE_TEXT,
            "notice_text": _NULLABLE_TEXT,
            "entry": {"type": ["object", "null"], "description": "the answer card, every field"},
            "choices": {
                "type": "array",
                "items": {"type": "object", "properties": {"entry_id": _TEXT, "title": _TEXT}},
            },
            "escalation": {"type": ["object", "null"]},
            "ref": {**_NULLABLE_TEXT, "description": "pass back to /api/v1/escalate"},
            "resident": _RESIDENT,
            "field": {
                "type": ["string", "null"],
                "enum": [*FIELDS, None],
                "description": "the part of the answer asked for; `field_answer` holds it, the card the rest",
            },
            "field_answer": {
                "type": ["object", "null"],
                "properties": {"heading": _TEXT, "text": _TEXT},
                "description": "the part asked for, to show before the card",
            },
            "from_context": {"type": "boolean", "description": "the entry came from the conversation"},
            "suggestion": {
                "type": ["object", "null"],
                "properties": {
                    "entry_id": _TEXT,
                    "title": _TEXT,
                    "score": {
                        "type": "number",
                        "minimum": 0,
                        "maximum": 100,
                        "description": "calibrated probability, 0-100",
                    },
                },
                "description": (
                    "escalate only: the entry the question is likelier than not about, though not sure enough"
                    " to answer with; shown beside the ticket"
                ),
            },
            "parts": {
                "type": "array",
                "items": {**_ref("Reply"), "description": "a reply of this same shape, one per question"},
                "description": "present when the message held several questions; the top level is the first",
            },
        },
    }


def _ticket_schema() -> dict[str, Any]:
    """One of the resident's tickets, as GET /api/v1/escalations lists them."""
    return {
        "type": "object",
        "required": [
            "escalation_id",
            "ticket",
            "community",
            "community_name",
            "question",
            "status",
            "status_label",
            "close_reason",
            "due",
            "answer",
            "officer",
            "answered_at",
        ],
        "properties": {
            "escalation_id": {"type": "integer"},
            "ticket": {**_TEXT, "description": "e.g. WJ000042"},
            "community": _TEXT,
            "community_name": _TEXT,
            "question": {**_TEXT, "description": "as the officers see it (numbers masked)"},
            "status": _one_of(EscalationStatus),
            "status_label": _TEXT,
            "close_reason": _one_of(CloseReason, nullable=True),
            "due": {**_LOCAL_TIME, "description": "promised answer time, local"},
            "answer": {**_NULLABLE_TEXT, "description": "the officers' answer, once given"},
            "officer": _NULLABLE_TEXT,
            "answered_at": {**_LOCAL_TIME, "description": "empty until answered"},
        },
    }


def _stats_schema() -> dict[str, Any]:
    rows = {
        "by_day": ("day", "questions"),
        "by_community": ("community", "consultations"),
        "by_entry": ("entry", "consultations"),
    }
    return {
        "type": "object",
        "required": ["questions", "answered", "clarified", "escalated", "views", "escalations"],
        "properties": {
            "from": {"type": "string", "format": "date"},
            "to": {"type": "string", "format": "date"},
            "community": _NULLABLE_TEXT,
            "timezone": _TEXT,
            "questions": {**_COUNT, "description": "answered + clarified + escalated"},
            "answered": _COUNT,
            "clarified": _COUNT,
            "escalated": _COUNT,
            "views": {**_COUNT, "description": "guide views, not questions"},
            "urgent": _COUNT,
            "escalations": {**_COUNTS, "description": "tickets by status"},
            "not_a_matter": {**_COUNT, "description": "closed as duplicates or 无效信息"},
            "answer_rate": {**_RATE, "description": "办结率; null without tickets"},
            "response": {
                "type": "object",
                "properties": {
                    "answered": _COUNT,
                    "median_minutes": {"type": ["number", "null"], "minimum": 0},
                    "p90_minutes": {"type": ["number", "null"], "minimum": 0},
                    "within_due": _COUNT,
                },
            },
            "satisfaction": _COUNTS,
            "satisfaction_rate": {**_RATE, "description": "满意率; null without ratings"},
            **{
                name: {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": [key, count],
                        "properties": {key: _TEXT, count: _COUNT},
                    },
                }
                for name, (key, count) in rows.items()
            },
        },
    }


def _health_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["status"],
        "properties": {
            "status": {"type": "string", "enum": ["ok", "unavailable", "draining"]},
            "database": {"type": "string", "enum": ["ok", "unreachable"]},
            "redis": {"type": "string", "enum": ["ok", "unreachable"]},
            "matcher": {
                "type": "string",
                "enum": ["ok", "learning"],
                "description": "learning: new knowledge is being learned; answers meanwhile are cautious",
            },
        },
        "additionalProperties": {"type": "string", "description": "a channel's state: ok or degraded"},
    }


def _error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["error", "message"],
        "properties": {"error": _TEXT, "message": _TEXT, "known": {"type": "array", "items": _TEXT}},
    }


ERRORS = {
    400: "the request is not what this operation takes",
    401: "not signed in, or a wrong X-Api-Key",
    403: "not allowed",
    404: "no such community, resident or ticket",
    409: "the same Idempotency-Key is still being answered (Retry-After)",
    413: "the body is over 256 KiB",
    422: "the Idempotency-Key was used for another request",
    429: "too many questions; come back after Retry-After seconds",
    503: "the database is unavailable; come back after Retry-After seconds",
}


def _responses(ok: dict[str, Any], *codes: int, links: dict[str, Any] | None = None) -> dict[str, Any]:
    success: dict[str, Any] = {"description": "OK", "content": {"application/json": {"schema": ok}}}
    if links:
        success["links"] = links
    out = {"200": success}
    for code in codes:
        out[str(code)] = {
            "description": ERRORS[code],
            "content": {"application/json": {"schema": _ref("Error")}},
        }
    return out


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _ask() -> dict[str, Any]:
    # What a caller does next with an answer: hand it to the officers, read the tickets back.
    links = {
        "EscalateIt": {
            "operationId": "escalate",
            "requestBody": {
                "resident": "$response.body#/resident",
                "consultation_id": "$response.body#/consultation_id",
                "ref": "$response.body#/ref",
            },
        },
        "ReadTheTickets": {
            "operationId": "escalations",
            "parameters": {
                "query.resident": "$response.body#/resident",
                "query.token": "$response.body#/resident_token",
            },
        },
    }
    return {
        "operationId": "ask",
        "summary": "Ask a question in a community",
        "parameters": [
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "Send a retry with the same key: it gets the first answer "
                "(header Idempotent-Replayed: true) and nothing is recorded twice; kept 24 h",
                "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,128}$"},
            },
            {
                "name": "X-Api-Key",
                "in": "header",
                "required": False,
                "description": "A community website's key (API_KEYS): its questions are counted "
                "per key, at ten times an address's limit; a wrong key is a 401",
                "schema": {"type": "string"},
            },
        ],
        "requestBody": _json_body(
            {
                "type": "object",
                "required": ["community", "question"],
                "properties": {
                    "community": {"type": "string", "example": "chengzhong-gongyuan"},
                    "question": {
                        "type": "string",
                        "description": f"Read up to its first {MAX_QUESTION_CHARS} characters; a longer "
                        'one is answered from its beginning with notice "truncated".',
                    },
                    "resident": _RESIDENT,
                    "conversation": _CONVERSATION,
                },
            }
        ),
        "responses": _responses(_with_resident(), 400, 401, 404, 409, 413, 422, 429, 503, links=links),
    }


def _with_resident() -> dict[str, Any]:
    """The top level of a reply names the resident; the parts of a message do not repeat it."""
    reply = _reply_schema()
    return reply | {"required": [*reply["required"], "resident"]}


def _escalate() -> dict[str, Any]:
    return {
        "operationId": "escalate",
        "summary": "Hand a clarified question to the officers (都不是，转民警)",
        "requestBody": _json_body(
            {
                "type": "object",
                "required": ["resident", "consultation_id", "ref"],
                "properties": {
                    "resident": _RESIDENT,
                    "consultation_id": {"type": "integer"},
                    "ref": _TEXT,
                },
            }
        ),
        "responses": _responses(_with_resident(), 400, 403, 413, 503),
    }


def _escalations() -> dict[str, Any]:
    tickets = {
        "type": "object",
        "required": ["resident", "escalations"],
        "properties": {
            "resident": _RESIDENT,
            "escalations": {"type": "array", "items": _ref("Ticket"), "maxItems": 20},
        },
    }
    return {
        "operationId": "escalations",
        "summary": "The resident's tickets and the officers' answers, newest first",
        "parameters": [
            {"name": "resident", "in": "query", "required": True, "schema": _RESIDENT},
            {
                "name": "token",
                "in": "query",
                "required": True,
                "description": "resident_token from POST /api/v1/ask (or X-Resident-Token)",
                "schema": {"type": "string", "maxLength": 64},
            },
        ],
        "responses": _responses(tickets, 400, 404, 503),
    }


def _stats() -> dict[str, Any]:
    return {
        "operationId": "stats",
        "summary": "The figures of a period (admins, by session): local days, both inclusive",
        "security": [{"adminSession": []}],
        "parameters": [
            {
                "name": "from",
                "in": "query",
                "required": False,
                "description": "the first day; 29 days before `to` by default; not after `to`",
                "schema": _STATS_DAY,
            },
            {
                "name": "to",
                "in": "query",
                "required": False,
                "description": "the last day; today by default",
                "schema": _STATS_DAY,
            },
            {"name": "community", "in": "query", "required": False, "schema": _TEXT},
        ],
        "responses": _responses(_stats_schema(), 400, 401, 403, 404, 503),
    }


def _operations() -> dict[str, Any]:
    metrics = {
        "operationId": "metrics",
        "summary": "Prometheus metrics: from private addresses, or with METRICS_TOKEN as a bearer token",
        "responses": {
            "200": {"description": "text exposition format", "content": {"text/plain": {"schema": _TEXT}}},
            "404": {"description": "anyone else: as if there were no such page"},
        },
    }
    return {
        "/livez": {
            "get": {
                "operationId": "livez",
                "summary": "The process answers",
                "responses": _responses(_health_schema()),
            }
        },
        "/readyz": {
            "get": {
                "operationId": "readyz",
                "summary": "Ready to serve: the database (and Redis when set) answered within 1 s",
                "responses": _health_responses(),
            }
        },
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "summary": "The same as /readyz",
                "responses": _health_responses(),
            }
        },
        "/metrics": {"get": metrics},
    }


def _health_responses() -> dict[str, Any]:
    body = {"application/json": {"schema": _health_schema()}}
    return {
        "200": {"description": "ready", "content": body},
        "503": {
            "description": "not ready: a dependency is unreachable, or the process is draining",
            "content": body,
        },
    }


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "网上警务室 API",
            "version": "1.0.0",
            "description": "Ask the community online police room a question, as a resident would. "
            "Emergencies: always show `emergency` (call 110) first. Request bodies are JSON objects in "
            f"UTF-8, nested at most {MAX_JSON_DEPTH} levels; anything else is a 400.",
        },
        "paths": {
            "/api/v1/ask": {"post": _ask()},
            "/api/v1/escalate": {"post": _escalate()},
            "/api/v1/escalations": {"get": _escalations()},
            "/api/v1/stats": {"get": _stats()},
            **_operations(),
        },
        "components": {
            "schemas": {
                "Reply": _reply_schema(),
                "Ticket": _ticket_schema(),
                "Error": _error_schema(),
            },
            "securitySchemes": {
                "adminSession": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": SESSION_COOKIE,
                    "description": "the session of an admin signed in at /login",
                }
            },
        },
    }
