"""The audio side of transcription, as pure functions over files (PyAV; no Django, no network).

prepare: ``plan`` decides whether a recording can be cut as it is (``provider_accepts``) and where its chunks
fall (``plan_chunks``); ``split`` cuts them by stream copy, after one ``transcode_to_opus`` when needed;
``silence`` tells which chunks are digital silence and not worth sending.
transcribe: ``stitch`` merges the chunks' segments into one transcript and drops Whisper's doubtful ones.
"""
