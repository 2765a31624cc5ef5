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


def pytest_sessionfinish(session, exitstatus):
    """In CI (BACKPROP_NO_SKIP, as .ci/run sets it) a skipped test, or none collected, fails the run."""
    if not os.environ.get("BACKPROP_NO_SKIP"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped or exitstatus == 5:
        print(f"\nFAILED: {skipped} tests skipped (or none collected), and a skip in CI is a failure "
              "(BACKPROP_NO_SKIP is set)")
        session.exitstatus = 1


@pytest.fixture(scope="session")
def mnist():
    """MNIST as float32 p/255 rows (as the CLI scales it) and labels; BACKPROP_DATA names the directory."""
    import backprop
    data = backprop.mnist()
    scale = lambda images: images.astype(np.float32) / np.float32(255)  # noqa: E731
    return (scale(data["train_images"]), data["train_labels"], scale(data["test_images"]), data["test_labels"],
            os.environ.get("BACKPROP_DATA") or os.path.join("data", "mnist"))
