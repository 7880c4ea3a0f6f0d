"""banbucheng: case management for a government service center's 办不成事 window."""

__version__ = "0.1.0"
