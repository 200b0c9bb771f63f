"""Scorecards: draft and confirmed scores per company and season, and the reports on them.

The library the CLI (``analyzer report``) and the web app share: ``scores.build_scorecard``
computes one, ``render.render_report`` gives the bytes, mimetype and file name of any
report for a download.
"""
