"""Rendering: frames to browser-playable clips."""

from prefrl.render.video import WebmWriter

__all__ = ["WebmWriter"]
