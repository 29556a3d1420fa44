"""The OpenAPI 3.1 description of every /api endpoint, served at /api/openapi.json.

Written by hand as data: a test checks that it lists exactly the routes registered under /api.
"""

from __future__ import annotations

from typing import Any

_ERROR = {"$ref": "#/components/schemas/Error"}


def _errors(*codes: int) -> dict[str, Any]:
    described = {
        400: "Malformed request (bad JSON, missing or wrong fields).",
        401: "Missing or wrong bearer token.",
        403: "Missing or wrong X-CSRF-Token header.",
        404: "Gone or never existed.",
        413: "Request body too large.",
        415: "File type not accepted.",
        429: "Rate limit reached; see the Retry-After header.",
    }
    return {
        str(c): {"description": described[c], "content": {"application/json": {"schema": _ERROR}}}
        for c in codes
    }


_CHAT_REPLY = {
    "200": {
        "description": "The bot's replies.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Replies"}}},
    }
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "rongcuo web API",
        "version": "1",
        "description": (
            "The web chat's own API (cookie session + X-CSRF-Token) and the bridge API for other "
            "messaging platforms (bearer token). Errors are JSON objects with a Chinese `error` message."
        ),
    },
    "paths": {
        "/api/chat": {
            "post": {
                "summary": "Send the web chat a message, a button press or an open event.",
                "security": [{"session": [], "csrf": []}],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ChatEvent"}}},
                },
                "responses": {**_CHAT_REPLY, **_errors(400, 403, 413, 429)},
            }
        },
        "/api/upload": {
            "post": {
                "summary": "Upload a file (photo, PDF, Word) for the current dialog step.",
                "security": [{"session": [], "csrf": []}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "file": {"type": "string", "contentMediaType": "application/octet-stream"}
                                },
                                "required": ["file"],
                            }
                        }
                    },
                },
                "responses": {**_CHAT_REPLY, **_errors(400, 403, 413, 415, 429)},
            }
        },
        "/api/files/{token}": {
            "get": {
                "summary": "Download, once, a file the bot sent this browser session.",
                "security": [{"session": []}],
                "parameters": [
                    {"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": {"description": "The file.", "content": {"application/octet-stream": {}}},
                    "404": {"description": "Already downloaded, expired, or another session's."},
                    **_errors(429),
                },
            }
        },
        "/api/bridge/message": {
            "post": {
                "summary": "A user of another messaging platform spoke: the same dialogs answer.",
                "description": (
                    "Each platform is a channel of its own; a user is known by (platform, user_id). "
                    "Send exactly one of text, action (a button's action) or open."
                ),
                "security": [{"bearer": []}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/BridgeMessage"}}
                    },
                },
                "responses": {**_CHAT_REPLY, **_errors(400, 401, 413, 429)},
            }
        },
        "/api/openapi.json": {
            "get": {
                "summary": "This document.",
                "security": [],
                "responses": {
                    "200": {"description": "OpenAPI 3.1 document.", "content": {"application/json": {}}}
                },
            }
        },
    },
    "components": {
        "securitySchemes": {
            "session": {"type": "apiKey", "in": "cookie", "name": "rongcuo_session"},
            "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
            "bearer": {"type": "http", "scheme": "bearer"},
        },
        "schemas": {
            "Error": {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]},
            "ChatEvent": {
                "type": "object",
                "properties": {
                    "text": {"type": "string", "maxLength": 4096},
                    "action": {"type": "string", "maxLength": 64},
                    "open": {"const": True},
                },
            },
            "BridgeMessage": {
                "type": "object",
                "properties": {
                    "platform": {
                        "type": "string",
                        "pattern": "^[a-z][a-z0-9_-]{1,19}$",
                        "not": {"enum": ["telegram", "web", "cli"]},
                    },
                    "user_id": {"type": "string", "minLength": 1, "maxLength": 100},
                    "display_name": {"type": "string", "maxLength": 120},
                    "language": {"type": "string", "maxLength": 20, "examples": ["zh-CN", "zh-TW", "en"]},
                    "text": {"type": "string", "maxLength": 4096},
                    "action": {"type": "string", "maxLength": 64},
                    "open": {"const": True},
                },
                "required": ["platform", "user_id"],
            },
            "Replies": {
                "type": "object",
                "properties": {
                    "replies": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "text": {"type": "string"},
                                "buttons": {
                                    "type": "array",
                                    "items": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "properties": {
                                                "label": {"type": "string"},
                                                "action": {"type": "string"},
                                            },
                                        },
                                    },
                                },
                                "edit": {"type": "boolean"},
                            },
                        },
                    },
                    "commands": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"command": {"type": "string"}, "description": {"type": "string"}},
                        },
                    },
                },
            },
        },
    },
}
