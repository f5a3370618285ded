"""Body parsing that matches what Skyflow's SDKs send (SKYFLOW_WIRE.md §0).

The SDKs send JSON with no Content-Type, with ``text/plain`` or with ``application/json``; so any
body that is not a form is parsed as JSON.
"""

from __future__ import annotations

from typing import Any

from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser, FormParser, JSONParser, MultiPartParser


class LenientContentNegotiation(DefaultContentNegotiation):
    def select_parser(self, request: Any, parsers: list[BaseParser]) -> BaseParser | None:
        content_type = (request.content_type or "").split(";")[0].strip().lower()
        for parser in parsers:
            if isinstance(parser, FormParser | MultiPartParser) and content_type == parser.media_type:
                return parser
        for parser in parsers:
            if isinstance(parser, JSONParser):
                return parser
        return super().select_parser(request, parsers)
