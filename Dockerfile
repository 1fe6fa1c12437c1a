# syntax=docker/dockerfile:1
# The one image of the web and worker processes (docs/deploy.md):
#   docker build -t sessionscribe .
#   web:    the default command, gunicorn on port 8000
#   worker: python manage.py qcluster
#   release step, before either starts on a new version: python manage.py migrate --noinput
# Every setting comes from the environment at run time (docs/operations.md); nothing secret is baked in.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    VAR_DIR=/srv/sessionscribe/var \
    PROMETHEUS_MULTIPROC_DIR=/run/sessionscribe-metrics

# A user of its own, with no shell and no home to write to: the code and the static files belong to root.
RUN groupadd --system --gid 10001 sessionscribe \
 && useradd --system --uid 10001 --gid sessionscribe --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin sessionscribe

WORKDIR /srv/sessionscribe

# The dependencies in a layer of their own, so that a change to the code does not reinstall them. PyAV ships its
# FFmpeg libraries and psycopg[binary] its libpq: no system packages are needed.
COPY pyproject.toml README.md ./
RUN pip install .

COPY . .

# Static files with their manifest (WhiteNoise serves them from the web process); the folder the processes of one
# container write their metrics to, the app user's.
RUN python manage.py collectstatic --noinput -v 0 \
 && mkdir -p "$PROMETHEUS_MULTIPROC_DIR" \
 && chown sessionscribe:sessionscribe "$PROMETHEUS_MULTIPROC_DIR"

USER sessionscribe:sessionscribe
EXPOSE 8000

# Workers: WEB_CONCURRENCY (gunicorn reads it; 2 per core is a good start). The timeout covers a 500 MB upload on
# a slow link; /dev/shm keeps the workers' heartbeat files off the container's disk.
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--timeout", "120", "--worker-tmp-dir", "/dev/shm"]
