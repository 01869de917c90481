"""Provider declarations (base URL, auth, streams, limits) and their pure mapping functions."""
