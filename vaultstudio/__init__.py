"""VaultStudio: a self-hosted data privacy vault with a browser studio."""

from .celery import app as celery_app

__all__ = ("celery_app",)
