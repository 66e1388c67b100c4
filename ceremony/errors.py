"""Errors of the ceremony domain (metadata, workspace, ceremonies).

Every error a ceremony officer can meet is a subclass of CeremonyError and carries a message they
can act on; the CLI prints it as one line and exits non-zero.
"""


class CeremonyError(Exception):
    """Base of all domain errors; the message is shown to the user as is."""
