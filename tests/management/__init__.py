"""Tests of the management API (/api/v1/), its OpenAPI document and manage.py create_service_account."""
