import sys

from .deps import exit_if_core_missing

exit_if_core_missing()  # a Python without the kit's dependencies gets one line, not a traceback

from .cli import main  # noqa: E402 - only once the dependencies are known to be there

sys.exit(main())
