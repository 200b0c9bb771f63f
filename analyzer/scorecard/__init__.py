"""Scorecards: draft and confirmed scores per company and season, and the reports on them.

The library the CLI (``analyzer report``) and the web app share; ``render_report`` gives
the bytes, mimetype and file name of any report for a download.
"""

from analyzer.scorecard.render import ReportError, render_report
from analyzer.scorecard.scores import Scorecard, build_scorecard, build_scorecards

__all__ = ["ReportError", "Scorecard", "build_scorecard", "build_scorecards", "render_report"]
