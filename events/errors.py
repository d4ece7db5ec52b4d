"""The one exception type the CLI turns into a one-line message and a non-zero exit, and the
errnos of a full disk (which the CLI words as one line, and the family passes step back from)."""

import errno

DISK_FULL = (errno.ENOSPC, errno.EDQUOT)  # no space left; a spent disk quota


class UserError(Exception):
    """A problem with what the user asked for (a bad path, a bad argument, a bad file)."""
