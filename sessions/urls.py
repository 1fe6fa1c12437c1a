from __future__ import annotations

app_name = "clinical_sessions"
urlpatterns: list[object] = []
