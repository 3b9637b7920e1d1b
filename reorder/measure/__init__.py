"""Measuring candidates: the cost model, wall-clock timing, and verification."""
