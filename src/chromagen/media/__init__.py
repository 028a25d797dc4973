"""Media by kind: still images (``image``); animations and videos join as siblings."""

import logging
import warnings


def quiet_decoders() -> None:
    """For applications (the CLI, the server), once at start: decoder logs and Pillow's warnings never reach
    stderr, whatever thread decodes. ``image.load_image`` silences them itself, but ``warnings.catch_warnings``
    swaps one process-wide filter list, so a decode on one thread could restore the list under a decode on
    another and let a warning through; a filter set before the threads start is in every list they swap."""
    for name in ("PIL", "tifffile"):  # decoders log what the file's one error line already says
        logging.getLogger(name).setLevel(logging.CRITICAL)
    warnings.filterwarnings("ignore", module=r"PIL(\..*)?")
