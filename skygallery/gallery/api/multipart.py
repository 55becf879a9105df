"""Reading write requests that carry JSON metadata and, optionally, files."""
from __future__ import annotations

import json
from typing import Any

from ..errors import InvalidInput
from ..services.uploads import Upload


def read_metadata_and_files(request) -> tuple[Any, list[Upload]]:
    """Multipart: JSON in the ``metadata`` field and files in fields named by their role. Otherwise a JSON body."""
    if request.content_type == "multipart/form-data":
        raw = request.POST.get("metadata")
        if raw is None:
            raise InvalidInput(("metadata", "missing multipart field 'metadata' (a JSON object)"))
        uploads = [Upload(role, f.name, f) for role in request.FILES for f in request.FILES.getlist(role)]
    else:
        raw, uploads = request.body.decode("utf-8", "replace"), []
    try:
        return json.loads(raw), uploads
    except json.JSONDecodeError as exc:
        raise InvalidInput(("metadata", f"not valid JSON: {exc.msg} at line {exc.lineno}")) from None
