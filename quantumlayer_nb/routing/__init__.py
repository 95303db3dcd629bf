"""Routing: which deployment serves a request, and what happens when it fails."""
