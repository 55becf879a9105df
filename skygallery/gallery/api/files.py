"""Serving stored files: the stored MIME type, attachments for everything but image previews."""
from __future__ import annotations

from django.http import FileResponse

from ..errors import NotFound
from ..services.filestore import FileStore

INLINE_MIMES = {"image/png", "image/jpeg", "image/gif"}


def file_response(stored, inline_ok: bool = True) -> FileResponse:
    path = FileStore().path(stored.sha256)
    if not path.exists():
        raise NotFound(f"the content of {stored.original_name!r} is missing from the file store")
    inline = inline_ok and stored.role == "preview" and stored.mime in INLINE_MIMES
    response = FileResponse(path.open("rb"), content_type=stored.mime, as_attachment=not inline,
                            filename=stored.original_name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["ETag"] = f'"{stored.sha256}"'
    return response
