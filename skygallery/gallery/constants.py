"""Vocabulary constants that need no Django (the CLI's remote mode imports them without a database)."""

FAMILIES = ("image", "spectrum", "lightcurve", "other")
DATA_VERSIONS = ("NRT", "CONS")
FILE_ROLES = ("fits", "region", "rmf", "arf", "preview", "table", "yaml", "html-attachment", "other")
