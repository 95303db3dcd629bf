"""Jupyter integration: the %qlayer magics, widgets, and the server extension."""
