"""Studio URLs of audit (mounted under /studio/ by vaultstudio.studio.site)."""

from __future__ import annotations

from typing import Any

urlpatterns: list[Any] = []
