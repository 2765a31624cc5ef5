# scikit-learn's own estimator checks, every one, for both estimators with their defaults.
import pytest

sklearn = pytest.importorskip("sklearn")
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import backprop  # noqa: E402


@parametrize_with_checks([backprop.MLPClassifier(), backprop.MLPRegressor()])
def test_sklearn_check(estimator, check):
    check(estimator)
