"""Errors raised by the gallery services and mapped to HTTP statuses by the API and to exit codes by the CLI."""
from __future__ import annotations


class GalleryError(Exception):
    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def as_detail(self) -> list[dict]:
        return [{"loc": [], "msg": self.message, "type": type(self).__name__}]


class InvalidInput(GalleryError):
    """One or more fields are invalid (HTTP 422). ``errors`` is a list of (field, message)."""

    status = 422

    def __init__(self, errors: list[tuple[str, str]] | tuple[str, str]):
        if isinstance(errors, tuple):
            errors = [errors]
        self.errors = list(errors)
        super().__init__("; ".join(f"{f}: {m}" if f else m for f, m in self.errors))

    def as_detail(self) -> list[dict]:
        return [{"loc": [f] if f else [], "msg": m, "type": "value_error"} for f, m in self.errors]


class NotFound(GalleryError):
    status = 404


class Forbidden(GalleryError):
    status = 403


class TooLarge(GalleryError):
    status = 413


class Conflict(GalleryError):
    status = 409
