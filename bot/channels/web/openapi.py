"""The API's OpenAPI 3 description, served at /api/v1/openapi.json."""

from __future__ import annotations

from typing import Any

from bot.channels.untrusted import MAX_JSON_DEPTH
from bot.core.conversation import FIELDS

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


def openapi_document() -> dict[str, Any]:
    reply = {
        "type": "object",
        "required": ["outcome", "entry_id", "candidates", "score", "urgent", "text", "ticket", "resident"],
        "properties": {
            "outcome": {"type": "string", "enum": ["answer", "clarify", "escalate"]},
            "entry_id": _NULLABLE_TEXT,
            "candidates": {"type": "array", "items": _TEXT, "description": "entry ids offered (clarify)"},
            "score": {"type": "number", "minimum": 0, "maximum": 100, "description": "confidence"},
            "urgent": {"type": "boolean", "description": "an emergency: show `emergency` first"},
            "urgent_kind": {
                "type": ["string", "null"],
                "enum": ["crime", "missing", "self_harm", "fire", "medical", "traffic", "fraud", None],
                "description": "what the emergency is; its guidance and numbers lead the reply",
            },
            "urgent_also": {
                "type": ["string", "null"],
                "enum": ["crime", "missing", "self_harm", "fire", "medical", "traffic", "fraud", None],
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
            "notice": {"type": ["string", "null"], "enum": ["empty", "truncated", None]},
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
            "parts": {
                "type": "array",
                "items": {"type": "object", "description": "a reply of this same shape, one per question"},
                "description": "present when the message held several questions; the top level is the first",
            },
        },
    }
    error = {
        "type": "object",
        "required": ["error", "message"],
        "properties": {"error": _TEXT, "message": _TEXT, "known": {"type": "array", "items": _TEXT}},
    }

    def responses(ok: dict[str, Any], *codes: int) -> dict[str, Any]:
        out: dict[str, Any] = {"200": {"description": "OK", "content": {"application/json": {"schema": ok}}}}
        for code in codes:
            out[str(code)] = {"description": "error", "content": {"application/json": {"schema": error}}}
        return out

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
            "/api/v1/ask": {
                "post": {
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
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["community", "question"],
                                    "properties": {
                                        "community": {"type": "string", "example": "chengzhong-gongyuan"},
                                        "question": {"type": "string", "maxLength": 4000},
                                        "resident": _RESIDENT,
                                        "conversation": _CONVERSATION,
                                    },
                                }
                            }
                        },
                    },
                    "responses": responses(reply, 400, 401, 404, 409, 422, 429, 503),
                }
            },
            "/api/v1/escalate": {
                "post": {
                    "summary": "Hand a clarified question to the officers (都不是，转民警)",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["resident", "consultation_id", "ref"],
                                    "properties": {
                                        "resident": _RESIDENT,
                                        "consultation_id": {"type": "integer"},
                                        "ref": _TEXT,
                                    },
                                }
                            }
                        },
                    },
                    "responses": responses(reply, 400, 403),
                }
            },
            "/api/v1/escalations": {
                "get": {
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
                    "responses": responses({"type": "object"}, 400, 404),
                }
            },
            "/api/v1/stats": {
                "get": {
                    "summary": "The figures of a period (admins, by session): local days, both inclusive",
                    "parameters": [
                        {
                            "name": "from",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string", "format": "date"},
                        },
                        {
                            "name": "to",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string", "format": "date"},
                        },
                        {"name": "community", "in": "query", "required": False, "schema": _TEXT},
                    ],
                    "responses": responses(
                        {
                            "type": "object",
                            "required": [
                                "questions",
                                "answered",
                                "clarified",
                                "escalated",
                                "views",
                                "escalations",
                            ],
                            "properties": {
                                "questions": {
                                    "type": "integer",
                                    "description": "answered + clarified + escalated",
                                },
                                "answered": {"type": "integer"},
                                "clarified": {"type": "integer"},
                                "escalated": {"type": "integer"},
                                "views": {"type": "integer", "description": "guide views, not questions"},
                                "escalations": {
                                    "type": "object",
                                    "additionalProperties": {"type": "integer"},
                                },
                                "satisfaction": {
                                    "type": "object",
                                    "additionalProperties": {"type": "integer"},
                                },
                            },
                        },
                        400,
                        401,
                        403,
                        404,
                    ),
                }
            },
            "/livez": {"get": {"summary": "The process answers", "responses": responses({"type": "object"})}},
            "/readyz": {
                "get": {
                    "summary": "Ready to serve: the database (and Redis when set) answered within 1 s",
                    "responses": responses({"type": "object"}, 503),
                }
            },
            "/healthz": {
                "get": {"summary": "The same as /readyz", "responses": responses({"type": "object"}, 503)}
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "responses": {"200": {"description": "text exposition format"}},
                }
            },
        },
    }
