"""claimsim: an event-sourced claims adjudication simulator for primary-care payment models.

The import namespace that the repository's root folders install into (`claimsim.events`,
`claimsim.adjudication`, ...). This package itself only holds the console entry point.
"""

__version__ = "0.1.0"

from claimsim import native as _native

_native.install()  # the compiled engine, or its Python sources (claimsim/native.py says which)
