#!/usr/bin/env bash
# Start VaultStudio's web server (gunicorn) and a Celery worker with beat; stop both on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
mkdir -p var/celery
.venv/bin/celery -A vaultstudio worker --beat --loglevel INFO --concurrency 2 \
  --schedule var/celerybeat-schedule >var/celery.log 2>&1 &
CELERY_PID=$!
trap 'kill $CELERY_PID 2>/dev/null; wait $CELERY_PID 2>/dev/null' EXIT INT TERM
echo "VaultStudio is running at http://$HOST:$PORT/  (API docs: http://$HOST:$PORT/api/docs/)"
echo "The studio: http://localhost:$PORT/studio/  (first admin: .venv/bin/python manage.py createsuperuser)"
echo "Celery worker + beat: pid $CELERY_PID, log var/celery.log. Ctrl-C stops both."
.venv/bin/gunicorn vaultstudio.wsgi --bind "$HOST:$PORT" --workers 2 --access-logfile - 
