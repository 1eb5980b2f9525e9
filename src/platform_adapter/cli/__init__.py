"""The operator surface: an interactive shell (spec appendix A) over a ``PlatformAdapter``."""

from platform_adapter.cli.parsing import CommandError
from platform_adapter.cli.shell import Shell

__all__ = ["CommandError", "Shell"]
