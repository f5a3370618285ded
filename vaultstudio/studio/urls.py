"""The studio's own pages (the dashboard); the other pages live in each app's ``studio/urls.py``."""

from __future__ import annotations

from typing import Any

urlpatterns: list[Any] = []
