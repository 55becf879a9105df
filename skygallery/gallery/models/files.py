"""Metadata of a stored file; the bytes live in the content-addressed file store."""
from django.db import models

from .vocab import FILE_ROLES


class StoredFileBase(models.Model):
    role = models.CharField(max_length=20, choices=[(r, r) for r in FILE_ROLES])
    original_name = models.CharField(max_length=255, help_text="Name given by the uploader (never used as a path)")
    size = models.BigIntegerField(help_text="Bytes")
    sha256 = models.CharField(max_length=64, db_index=True)
    mime = models.CharField(max_length=100)

    class Meta:
        abstract = True
        ordering = ["id"]

    def __str__(self):
        return f"{self.role}:{self.original_name}"
