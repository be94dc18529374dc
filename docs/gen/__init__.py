"""What builds the documentation from the code: the reference pages' generated parts (reference.py, through the
MkDocs hook in hooks.py) and the pictures of what Rapport posts (pictures.py, drawn by svg.py)."""
