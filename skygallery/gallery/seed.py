"""The controlled vocabularies, seeded by a migration and re-applied by ``skygallery init``."""

INSTRUMENTS = [
    # name, label, emin_kev, emax_kev, default band (keV)
    ("isgri", "IBIS/ISGRI", 15.0, 1000.0, 28.0, 40.0),
    ("jemx1", "JEM-X1", 3.0, 35.0, 3.0, 20.0),
    ("jemx2", "JEM-X2", 3.0, 35.0, 3.0, 20.0),
    ("spiacs", "SPI-ACS", 75.0, 100000.0, 75.0, 2000.0),
    ("spi", "SPI", 20.0, 8000.0, 20.0, 200.0),
    ("picsit", "IBIS/PICsIT", 175.0, 10000.0, 200.0, 2000.0),
]

PRODUCT_TYPES = [
    # name, label, family, instrument, instrument group (parent term)
    ("isgri_image", "ISGRI image", "image", "isgri", ""),
    ("isgri_spectrum", "ISGRI spectrum", "spectrum", "isgri", ""),
    ("isgri_lc", "ISGRI light curve", "lightcurve", "isgri", ""),
    ("jemx_image", "JEM-X image", "image", None, "jemx"),
    ("jemx_spectrum", "JEM-X spectrum", "spectrum", None, "jemx"),
    ("jemx_lc", "JEM-X light curve", "lightcurve", None, "jemx"),
    ("spi_acs_lc", "SPI-ACS light curve", "lightcurve", "spiacs", ""),
    ("spi_spectrum", "SPI spectrum", "spectrum", "spi", ""),
    ("other", "Other product", "other", None, ""),
]

ROLES = ("reader", "contributor", "admin")


def seed(apps=None) -> None:
    """Create or update the vocabularies (idempotent). ``apps`` is the migration app registry."""
    if apps is None:
        from django.apps import apps as registry
        apps = registry
    Instrument = apps.get_model("gallery", "Instrument")
    ProductType = apps.get_model("gallery", "ProductType")
    Group = apps.get_model("auth", "Group")
    for name, label, emin, emax, d1, d2 in INSTRUMENTS:
        Instrument.objects.update_or_create(name=name, defaults=dict(label=label, emin_kev=emin, emax_kev=emax,
                                                                      default_e1_kev=d1, default_e2_kev=d2))
    for name, label, family, instrument, group in PRODUCT_TYPES:
        inst = Instrument.objects.get(name=instrument) if instrument else None
        ProductType.objects.update_or_create(name=name, defaults=dict(label=label, family=family, instrument=inst,
                                                                       instrument_group=group))
    for role in ROLES:
        Group.objects.get_or_create(name=role)
