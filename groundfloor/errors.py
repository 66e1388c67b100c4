"""The ground floor's error: a refused file, name or document, told in one line."""


class GroundFloorError(Exception):
    """A file could not be read or written as asked, or a document is refused before parsing;
    the message is shown to the user as is (layers above subclass or wrap it)."""
