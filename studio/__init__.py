"""Boltzmann Studio's Qt application. Talks to the engine only through the bridge; never imports torch
at module level."""
