"""Tools for the project's own developers, never imported by the running toolkit: the generators of
the documentation pages that are derived from the code (``python -m colorkit.devtools.docs_pages``).

They sit on the top floor, above the CLI they describe (see docs/architecture.md).
"""
