"""The audio side of transcription, as pure functions over files (PyAV; no Django, no network).

Cutting: ``plan`` decides whether a recording can be cut as it is (``provider_accepts``) and where its chunks fall
(``plan_chunks``: one per request allowed at once, within the provider's limits); ``pauses`` finds the quietest
moment near each planned seam, decoding a few seconds there only; ``split`` cuts the chunks in one stream-copy
pass that hands each over as soon as it is complete (``stream_copy_as_cut``), after one ``transcode_to_opus``
when needed; ``silence`` tells which chunks are digital silence and not worth sending.
Stitching: ``stitch`` merges the chunks' segments into one transcript and drops Whisper's doubtful ones.
"""
