"""The integrator API's plumbing: authentication, errors, base views, idempotency, rate limits, schema.

Each app keeps its own endpoints in ``<app>/api.py``; ``config/api_urls.py`` mounts them under /api/v1/."""
