"""WSGI entry point (gunicorn vaultstudio.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vaultstudio.settings")
application = get_wsgi_application()
