"""The review web app (``analyzer serve``): upload, review with the page image, export.

``make_app`` is imported on first use, so the page-rendering child process, which imports
``analyzer.web.render`` only, does not load Flask and the pipeline.
"""

from __future__ import annotations

from typing import Any

__all__ = ["make_app"]


def __getattr__(name: str) -> Any:
    if name == "make_app":
        from analyzer.web.app import make_app

        return make_app
    raise AttributeError(f"module 'analyzer.web' has no attribute {name!r}")
