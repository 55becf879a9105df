"""Simulate an archive: plan a revolution, simulate every ScW and instrument, write the layout.

Each ScW and instrument draws from its own generator seeded by (seed, revolution, pointing,
instrument), so the result does not depend on the order or on which instruments are chosen.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np

from ..instruments import isgri, jemx
from .events import BackgroundModel, simulate_events
from .plan import Observation, PlannedScw, plan_revolution
from .sky import ISGRI_RESPONSE, JEMX_RESPONSE, SkyModel
from .writer import scw_dir, write_events, write_index, write_swg, write_truth

__all__ = ["INSTRUMENT_SETUP", "simulate_archive"]

# instrument key -> (factory, spectral response, background, truth bands keV)
INSTRUMENT_SETUP = {
    "ISGR": (isgri, ISGRI_RESPONSE, BackgroundModel(rate_counts_s=600.0), ((20.0, 40.0), (40.0, 80.0))),
    "JMX1": (lambda: jemx(1), JEMX_RESPONSE, BackgroundModel(rate_counts_s=40.0, index=1.2), ((3.0, 20.0),)),
    "JMX2": (lambda: jemx(2), JEMX_RESPONSE, BackgroundModel(rate_counts_s=40.0, index=1.2), ((3.0, 20.0),)),
}
_KEYS = tuple(INSTRUMENT_SETUP)


def simulate_archive(root: str | os.PathLike, rev: int, observations: Sequence[Observation], sky: SkyModel,
                     seed: int = 0, instruments: Sequence[str] = ("ISGR",), deadc: float = 0.7,
                     dead_pixel_fraction: float = 0.002, max_scws: int | None = None,
                     progress: Callable[[int, int], None] | None = None) -> list[PlannedScw]:
    """Write a simulated archive under ``root``; returns the planned ScWs written."""
    unknown = [i for i in instruments if i not in INSTRUMENT_SETUP]
    if unknown:
        raise ValueError(f"instruments: unknown {unknown} (choose from {', '.join(_KEYS)})")
    planned = plan_revolution(rev, list(observations))
    if max_scws is not None:
        planned = planned[:max_scws]
    if not planned:
        raise ValueError(f"observations: nothing fits in the usable window of revolution {rev}")
    setups = {}
    for key in instruments:
        factory, response, background, bands = INSTRUMENT_SETUP[key]
        inst = factory()
        dead = np.random.default_rng([seed, 9999, _KEYS.index(key)]).random(inst.detector.shape) < dead_pixel_fraction
        setups[key] = (inst.with_dead_pixels(dead), response, background, bands)
    for n, scw in enumerate(planned, 1):
        directory = scw_dir(root, scw)
        directory.mkdir(parents=True, exist_ok=True)
        write_swg(directory, scw, deadc)
        truths = {}
        for key, (inst, response, background, bands) in setups.items():
            rng = np.random.default_rng([seed, rev, scw.scw_id.pointing, _KEYS.index(key)])
            ev = simulate_events(inst, response, sky, scw.pointing, scw.tstart_ijd, scw.tstop_ijd, rng,
                                 background, deadc, bands)
            write_events(directory, scw, inst, ev, deadc)
            truths[key] = ev.truth
        write_truth(directory, truths)
        if progress:
            progress(n, len(planned))
    write_index(root, planned)
    return planned
