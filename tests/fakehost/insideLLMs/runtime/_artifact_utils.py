"""Runner-side helper: looks the public writer up at call time, as the host does."""


def _atomic_write_text(path, text):
    from insideLLMs.resources import atomic_write_text

    atomic_write_text(path, text)
