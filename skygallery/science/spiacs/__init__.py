"""SPI-ACS light curves: count-rate streams (real MMODA files or simulated) and burst search."""
from .bursts import Burst, BurstSearchConfig, search_bursts
from .simulate import AcsBackground, GrbPulse, simulate_acs
from .stream import NATIVE_BIN_S, AcsLightCurve, read_acs_fits, write_acs_fits

__all__ = [
           "NATIVE_BIN_S",
           "AcsBackground",
           "AcsLightCurve",
           "Burst",
           "BurstSearchConfig",
           "GrbPulse",
           "read_acs_fits",
           "search_bursts",
           "simulate_acs",
           "write_acs_fits",
]
