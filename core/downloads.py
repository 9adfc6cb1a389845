"""File downloads: the Content-Disposition header every export answers with."""

import re
from urllib.parse import quote

_NOT_IN_FILE = re.compile(r"[^A-Za-z0-9._-]")


def attachment(name: str) -> str:
    """A Content-Disposition for any name: an ASCII fallback and the RFC 5987 UTF-8 form."""
    fallback = _NOT_IN_FILE.sub("_", name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
