"""The HTTP request an audit event belongs to, carried in a context variable.

The request-id middleware sets it, so services deep down can audit without threading the request
through every call; Celery tasks and commands simply have none.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestMeta:
    request_id: str = ""
    ip: str = ""
    user_agent: str = ""
    method: str = ""
    path: str = ""


EMPTY = RequestMeta()
current_request: ContextVar[RequestMeta] = ContextVar("vaultstudio_request", default=EMPTY)
