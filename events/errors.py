"""The one exception type the CLI turns into a one-line message and a non-zero exit."""


class UserError(Exception):
    """A problem with what the user asked for (a bad path, a bad argument, a bad file)."""
