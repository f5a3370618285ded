"""Studio tests: the dashboard's URL name must resolve for ``studio/base.html`` to render."""

from __future__ import annotations

from tests.studio.dashboard_stand_in import studio_urlconf  # noqa: F401  (autouse fixture)
