"""The one-line form of an error, for messages that must stay one line (the CLI's ``rlx: error:``)."""


def first_line(err: BaseException) -> str:
    """The first non-empty line of ``err``'s message, or its type's name when it has none."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
