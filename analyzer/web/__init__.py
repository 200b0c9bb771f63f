"""The review web app (``analyzer serve``): upload, review with the page image, export."""

from analyzer.web.app import make_app

__all__ = ["make_app"]
