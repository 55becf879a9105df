"""Simulated INTEGRAL data: sky model, pointing plans, per-ScW events, archive writing."""
