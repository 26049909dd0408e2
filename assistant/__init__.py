"""帮教问答 (Bangjiao Q&A): offline answers about life after release, from the asker's home county's policies."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("bangjiao-assistant")
except PackageNotFoundError:  # run from a tree that was never installed (no metadata)
    __version__ = "0+unknown"
