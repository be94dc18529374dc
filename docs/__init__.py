"""Rapport's documentation: the pages are Markdown for MkDocs; gen/ is the code that builds parts of them."""
