"""Loaded by every Python process started with this folder on PYTHONPATH: shifts the wall
clock by GELLO_TEST_CLOCK_SKEW_S seconds, as a host with a wrong clock would have."""

import os
import time

_skew = float(os.environ.get("GELLO_TEST_CLOCK_SKEW_S", "0"))
if _skew:
    _real_time = time.time
    time.time = lambda: _real_time() + _skew
