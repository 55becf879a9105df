"""API tokens and the name-resolver cache."""
from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    """A personal API token; only its SHA-256 digest is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, help_text="First characters, to recognise the token")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"


class ResolverCache(models.Model):
    """Answers of the online name resolver, so that each name is asked once."""

    key = models.CharField(max_length=128, unique=True)
    found = models.BooleanField()
    payload = models.JSONField(default=dict)
    fetched_at = models.DateTimeField(auto_now=True)
