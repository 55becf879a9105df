"""Shared pieces of the pipeline tests: a small simulated archive, its truth, an in-memory publisher."""
from __future__ import annotations

import copy
import hashlib
from pathlib import Path

from skygallery.pipeline.publish import Publisher

REV, REV2 = 2620, 2621
CRAB = ("Crab", 83.633083, 22.0145)
NEIGHBOUR = ("1A 0535+262", 84.727375, 26.315778)
NEW = ("TEST J0540+2330", 85.0, 23.5)          # not in any catalog: must come out as a NEW source


def plans():
    from skygallery.pipeline.simulation import ObservationPlan, RevolutionPlan
    return [RevolutionPlan(REV, (ObservationPlan("crab", "hex", 3, "26200001", "Test PI", "Crab calibration"),),
                           nrt_missing=1),
            RevolutionPlan(REV2, (ObservationPlan("crab", "hex", 2, "26210001", "Test PI", "Crab calibration"),))]


def make_sky(plan_list):
    """Crab (1000 mCrab), 1A 0535+262 (150 mCrab, flaring ×4 in the second revolution) and a 200 mCrab
    uncatalogued source 1.9° from the Crab."""
    from skygallery.pipeline.simulation import _observations
    from skygallery.science.simulate.plan import plan_revolution
    from skygallery.science.simulate.sky import LightCurve, SimSource, SkyModel
    t0 = plan_revolution(REV2, _observations(plan_list[1]))[0].tstart_ijd
    flare = LightCurve(((t0, 3.0, 0.01, 2.0),))
    return SkyModel([SimSource.from_mcrab(CRAB[0], CRAB[1], CRAB[2], 1000.0, 2.1),
                     SimSource.from_mcrab(NEIGHBOUR[0], NEIGHBOUR[1], NEIGHBOUR[2], 150.0, 2.3, flare),
                     SimSource.from_mcrab(NEW[0], NEW[1], NEW[2], 200.0, 2.0)])


class MemoryPublisher(Publisher):
    """A gallery in a dict: product versions with file digests, observations, logs, revolution status."""

    where = "memory"

    def __init__(self):
        self.products: dict[str, list[dict]] = {}
        self.deleted: set[str] = set()
        self.observations: dict[str, dict] = {}
        self.logs: list[dict] = []
        self.status: dict[int, str] = {}
        self.posts = 0

    def current_product(self, product_id):
        if product_id in self.deleted or product_id not in self.products:
            return None
        return copy.deepcopy(self.products[product_id][-1])

    def post_product(self, payload, files):
        self.posts += 1
        meta = copy.deepcopy(payload)
        meta["files"] = [{"role": r, "name": Path(p).name, "sha256": hashlib.sha256(Path(p).read_bytes()).hexdigest()}
                         for r, p in files]
        versions = self.products.setdefault(payload["product_id"], [])
        meta["version"] = len(versions) + 1
        versions.append(meta)
        self.deleted.discard(payload["product_id"])
        return copy.deepcopy(meta)

    def delete_product(self, product_id):
        self.deleted.add(product_id)

    def revolution_products(self, rev):
        return [{"product_id": pid, "instrument": v[-1]["instrument"]} for pid, v in self.products.items()
                if pid not in self.deleted and pid.startswith(f"rev{rev:04d}-")]

    def current_observation(self, title):
        return copy.deepcopy(self.observations.get(title))

    def observation_file(self, obs, f):
        return f["data"]

    def post_observation(self, payload, files, replace_files):
        obs = self.observations.setdefault(payload["title"], {"files": []})
        obs.update(copy.deepcopy(payload))
        if replace_files:
            obs["files"] = []
        obs["files"] += [{"role": r, "name": n, "data": d, "sha256": hashlib.sha256(d).hexdigest()} for r, n, d in files]
        return copy.deepcopy(obs)

    def revolution_status(self, rev):
        return self.status.get(rev, "")

    def set_revolution_status(self, rev, status):
        self.status[rev] = status

    def post_log(self, payload):
        self.logs.append(dict(payload))
        return payload
