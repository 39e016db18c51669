"""Figures of a results frame. Each function writes PNG and SVG and returns the PNG's path."""

from zkbench.plots.scaling import prove_time

__all__ = ["prove_time"]
