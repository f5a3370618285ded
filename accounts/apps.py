"""The accounts app: people, groups, service accounts, their keys and the token endpoint."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from .sessions import on_user_logged_in

        # Every login (the password page, SSO, tests' force_login) starts the session's lifetimes
        # and tracks it, whoever called django.contrib.auth.login.
        user_logged_in.connect(on_user_logged_in, dispatch_uid="accounts.sessions.on_user_logged_in")
