"""Studio URLs of policies (mounted under /studio/ by vaultstudio.studio.site)."""

from __future__ import annotations

from typing import Any

urlpatterns: list[Any] = []
