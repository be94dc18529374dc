"""`rapport serve`: the WSGI app and the server in front of it."""
