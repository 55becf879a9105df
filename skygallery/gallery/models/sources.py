"""Astrophysical sources, their names and aliases."""
from django.db import models

from skygallery.science.sphere import dec_zone, unit_vector


class PositionMixin(models.Model):
    """RA/Dec (deg, J2000) with the unit-vector and declination-zone columns of the cone index."""

    ra_deg = models.FloatField(null=True, blank=True, help_text="Right ascension (deg, J2000)")
    dec_deg = models.FloatField(null=True, blank=True, help_text="Declination (deg, J2000)")
    pos_x = models.FloatField(null=True, blank=True, editable=False)
    pos_y = models.FloatField(null=True, blank=True, editable=False)
    pos_z = models.FloatField(null=True, blank=True, editable=False)
    dec_zone = models.SmallIntegerField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True

    def set_position(self, ra_deg: float | None, dec_deg: float | None) -> None:
        self.ra_deg, self.dec_deg = ra_deg, dec_deg
        if ra_deg is None or dec_deg is None:
            self.pos_x = self.pos_y = self.pos_z = self.dec_zone = None
        else:
            self.pos_x, self.pos_y, self.pos_z = unit_vector(ra_deg, dec_deg)
            self.dec_zone = dec_zone(dec_deg)

    def save(self, *args, **kwargs):
        self.set_position(self.ra_deg, self.dec_deg)
        super().save(*args, **kwargs)


class Source(PositionMixin):
    name = models.CharField(max_length=128, unique=True, help_text="Canonical name")
    object_type = models.CharField(max_length=32, blank=True, db_index=True,
                                   help_text="SIMBAD object type, e.g. LowMassXBin")
    catalog_url = models.URLField(max_length=500, blank=True, help_text="Online catalog page (SIMBAD)")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["dec_zone", "ra_deg"], name="source_zone_ra")]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        adding = self._state.adding
        super().save(*args, **kwargs)
        if not adding:   # product links carry a copy of the object type (searches by type read it from their index)
            self.productsource_set.exclude(object_type=self.object_type).update(object_type=self.object_type)

    @property
    def aliases(self) -> list[str]:
        return [n.name for n in self.names.all() if not n.is_primary]


class SourceName(models.Model):
    """One name of a source: the canonical one (``is_primary``) or an alias.

    ``key`` is the normalised name; it is unique across all names and aliases, so a
    name can never point at two sources.
    """

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="names")
    name = models.CharField(max_length=128)
    key = models.CharField(max_length=128, unique=True)
    is_primary = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_primary", "name"]

    def __str__(self):
        return self.name
