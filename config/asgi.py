from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

from config.checks import refuse_unsafe_configuration

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_asgi_application()

# An ASGI server runs no system checks: the configuration runserver and qcluster would refuse is refused here too.
refuse_unsafe_configuration()
