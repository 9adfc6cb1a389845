"""The classifier's one exception: bad input a person can fix, with a message saying how."""


class ClassifierError(ValueError):
    """A file, column, label set or model folder that cannot be used."""
