"""Defaults shared by the CLI and the library, in a module light enough for `chromagen --help`."""

DEFAULT_MODEL = "default"
DEFAULT_SIZE = 192  # working resolution (longer side), chosen on val: see docs/model-card.md
HINT_MODEL = "hints"  # the bundled hint-aware model, used when the user gives color hints
# A hint colors a small square of the working image: 5 px of the 192 px default (~2.6 % of the longer side),
# the middle of the 1..9 px patches the hint model trained with (on 128 px crops).
DEFAULT_PATCH = 5
