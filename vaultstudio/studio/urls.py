"""The studio's own pages (the dashboard); the other pages live in each app's ``studio/urls.py``."""

from __future__ import annotations

from typing import Any

from django.urls import path

from .dashboard import dashboard

urlpatterns: list[Any] = [
    path("", dashboard, name="dashboard"),
]
