"""The local web viewer where people compare clips; see `prefrl viewer --help`."""

from prefrl.viewer.app import create_app
from prefrl.viewer.server import serve

__all__ = ["create_app", "serve"]
