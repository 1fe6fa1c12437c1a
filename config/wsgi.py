from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

from config.checks import refuse_unsafe_configuration

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# gunicorn runs no system checks: the configuration runserver and qcluster would refuse is refused here too.
refuse_unsafe_configuration()
