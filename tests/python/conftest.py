# The package under test is the build tree's (PYTHONPATH=build/python, set by CTest).
import os

import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def cli_path():
    """The backprop command CTest built (BACKPROP_CLI), or None when run by hand without it."""
    return os.environ.get("BACKPROP_CLI")
