"""Defaults shared by the CLI and the library, in a module light enough for `chromagen --help`."""

DEFAULT_MODEL = "default"
DEFAULT_SIZE = 192  # working resolution (longer side), chosen on val: see docs/model-card.md
HINT_MODEL = "hints"  # the bundled hint-aware model, used when the user gives color hints
