"""The studio at ``/studio/``: an OTP-enforcing, Django admin-style site whose pages come from the apps.

Every page is a view wrapped by ``studio_page``: the person must be logged in, have passed MFA in this
session (django-otp's ``is_verified``), be a studio member, hold the page's management role if it names
one, and — for step-up pages — have passed an MFA check within the last ten minutes. Which pages exist
is fixed here (``StudioSite.get_urls``); each app keeps its own pages in ``<app>/studio/``.
"""

from __future__ import annotations

from .site import NAV, StudioSite, site, studio_page

__all__ = ["NAV", "StudioSite", "site", "studio_page"]
