"""The review web app (``analyzer serve``): upload, review with the page image, export.

``analyzer.web.app.make_app`` builds it. This package module imports nothing, so the
page-rendering child process, which imports ``analyzer.web.render`` only, does not load
Flask and the pipeline.
"""
