"""INTEGRAL instruments as data (geometry dataclasses) and their geometric response."""
from .geometry import (CodedMaskInstrument, DetectorGrid, MaskRaster, RateOnlyInstrument, isgri, jemx,
                       read_mask_file, spi_acs)
from .response import coded_fraction, direction_to_offset_mm, offset_to_direction_deg, pif

__all__ = ["CodedMaskInstrument", "DetectorGrid", "MaskRaster", "RateOnlyInstrument", "isgri", "jemx",
           "read_mask_file", "spi_acs", "coded_fraction", "direction_to_offset_mm", "offset_to_direction_deg", "pif"]
