"""Management API routes."""

urlpatterns: list = []
