"""The one exception type users see: every expected failure carries a human-readable message."""


class ChromagenError(Exception):
    """A user-facing failure (bad file, bad option, missing model). The CLI prints its message only."""


class UsageError(ChromagenError):
    """The command itself cannot run as asked (bad option, unusable output folder): exit code 2, not 1."""
