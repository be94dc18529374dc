"""A client's people (PRODUCT.md §4.13): contacts with roles, and the advocate-first rule."""
