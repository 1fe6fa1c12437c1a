from __future__ import annotations

app_name = "notes"
urlpatterns: list[object] = []
