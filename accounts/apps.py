"""The accounts app: people, groups, service accounts, their keys and the token endpoint."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"
