"""The vaults app: the data plane."""

from django.apps import AppConfig


class VaultsConfig(AppConfig):
    name = "vaults"
    default_auto_field = "django.db.models.BigAutoField"
