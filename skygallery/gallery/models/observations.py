"""Revolutions, observations and processing logs."""
from django.conf import settings
from django.db import models

from .files import StoredFileBase
from .vocab import DATA_VERSIONS


class Revolution(models.Model):
    number = models.PositiveIntegerField(primary_key=True)
    start_utc = models.DateTimeField()
    end_utc = models.DateTimeField()
    data_status = models.CharField(max_length=4, choices=[(v, v) for v in DATA_VERSIONS], blank=True,
                                   help_text="Best data version processed for this revolution")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["number"]

    def __str__(self):
        return f"rev. {self.number:04d}"


class Observation(models.Model):
    title = models.CharField(max_length=255, unique=True)
    obsids = models.JSONField(default=list, blank=True, help_text="Observation ids (list of strings)")
    expid = models.CharField(max_length=64, blank=True)
    pi = models.CharField(max_length=255, blank=True)
    proposal_title = models.CharField(max_length=500, blank=True)
    target = models.CharField(max_length=255, blank=True)
    t_start = models.DateTimeField()
    t_end = models.DateTimeField()
    rev1 = models.PositiveIntegerField()
    rev2 = models.PositiveIntegerField()
    span = models.PositiveIntegerField(help_text="rev2 - rev1")
    scw_list = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["t_start", "id"]
        indexes = [models.Index(fields=["rev1", "rev2"], name="obs_revs"), models.Index(fields=["t_start"], name="obs_t1")]

    def __str__(self):
        return self.title


class ObservationFile(StoredFileBase):
    observation = models.ForeignKey(Observation, on_delete=models.CASCADE, related_name="files")


class ProcessingLog(models.Model):
    STATUSES = ("success", "failure", "running")
    revolution = models.ForeignKey(Revolution, on_delete=models.CASCADE, related_name="logs")
    job_id = models.CharField(max_length=128, blank=True)
    status = models.CharField(max_length=10, choices=[(s, s) for s in STATUSES])
    text = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.revolution} {self.status} {self.job_id}"
