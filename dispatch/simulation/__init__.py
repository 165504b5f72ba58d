"""Simulated load and crews, and the demo: the engine driven as a storm would drive it."""
