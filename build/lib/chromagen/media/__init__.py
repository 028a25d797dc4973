"""Media by kind: still images (``image``); animations and videos join as siblings."""
