"""Controlled vocabularies: instruments, product types and their families."""
from django.db import models

from ..constants import DATA_VERSIONS, FAMILIES, FILE_ROLES  # noqa: F401  (re-exported)


class Instrument(models.Model):
    name = models.SlugField(max_length=32, unique=True, help_text="Short name, e.g. isgri, jemx1")
    label = models.CharField(max_length=64, help_text="Display name, e.g. IBIS/ISGRI")
    emin_kev = models.FloatField(help_text="Lowest usable energy (keV)")
    emax_kev = models.FloatField(help_text="Highest usable energy (keV)")
    default_e1_kev = models.FloatField(null=True, blank=True)
    default_e2_kev = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class ProductType(models.Model):
    name = models.SlugField(max_length=48, unique=True, help_text="e.g. isgri_image, jemx_lc")
    label = models.CharField(max_length=64)
    family = models.CharField(max_length=16, choices=[(f, f) for f in FAMILIES], db_index=True)
    instrument = models.ForeignKey(Instrument, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="product_types",
                                   help_text="Instrument family this type belongs to (jemx types serve jemx1 and jemx2)")
    instrument_group = models.SlugField(max_length=32, blank=True,
                                        help_text="Instrument parent term, e.g. 'jemx' for jemx1 and jemx2")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def parents(self) -> list[str]:
        """Parent terms as in the MMODA taxonomy: the family, then the instrument term."""
        group = self.instrument_group or (self.instrument.name if self.instrument_id else "")
        return [p for p in (self.family, group) if p]

    def accepts(self, instrument: Instrument) -> bool:
        """Whether a product of this type may be made by ``instrument``."""
        if self.instrument_group:
            return instrument.name.startswith(self.instrument_group)
        return self.instrument_id is None or self.instrument_id == instrument.pk
