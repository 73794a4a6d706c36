"""``python -m tests.pinned_seva ARGS``: the ``seva`` command on the tests' pinned clock, for
tests that run the real server or CLI in a subprocess and compare what it shows."""

from seva_crm.core.common.security import PinnedClock, set_clock
from tests.clock_support import PINNED

if __name__ == "__main__":
    set_clock(PinnedClock(PINNED))
    from seva_crm.cli import main

    main()
