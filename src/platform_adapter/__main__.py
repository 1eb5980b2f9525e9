"""``python -m platform_adapter``: the same as ``python -m platform_adapter.main``."""

import sys

from platform_adapter.main import main

if __name__ == "__main__":
    sys.exit(main())
