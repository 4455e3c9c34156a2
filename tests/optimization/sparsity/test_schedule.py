"""Tests for tfmodels.optimization.sparsity.schedule: tfmot's schedule semantics in keras.ops."""

import keras
import numpy as np
import pytest

from tfmodels.optimization.sparsity import ConstantSparsity, PolynomialDecay

pytestmark = pytest.mark.multibackend


def _evaluate(schedule, step):
    should_prune, sparsity = schedule(step)
    return bool(keras.ops.convert_to_numpy(should_prune)), float(keras.ops.convert_to_numpy(sparsity))


def test_constant_sparsity_prunes_on_its_turns_within_its_range():
    schedule = ConstantSparsity(0.6, begin_step=10, end_step=30, frequency=5)
    turns = [step for step in range(40) if _evaluate(schedule, step)[0]]
    assert turns == [10, 15, 20, 25, 30]
    assert _evaluate(schedule, 12)[1] == pytest.approx(0.6)
    forever = ConstantSparsity(0.6, begin_step=0, frequency=7)
    assert _evaluate(forever, 7000)[0] and not _evaluate(forever, 7001)[0]


@pytest.mark.parametrize("power", [1, 3])
def test_polynomial_decay_follows_its_curve(power):
    schedule = PolynomialDecay(0.2, 0.8, begin_step=100, end_step=300, power=power, frequency=10)
    for step, fraction in ((0, 0.0), (100, 0.0), (150, 0.25), (200, 0.5), (300, 1.0), (900, 1.0)):
        expected = 0.8 + (0.2 - 0.8) * (1 - fraction) ** power
        assert _evaluate(schedule, step)[1] == pytest.approx(expected, abs=1e-6)
    assert [s for s in range(0, 400, 5) if _evaluate(schedule, s)[0]] == list(range(100, 301, 10))


def test_schedules_survive_serialization():
    for schedule in (ConstantSparsity(0.5, 3, 90, 4), PolynomialDecay(0.1, 0.9, 0, 50, 2, 5)):
        copy = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule))
        assert type(copy) is type(schedule) and copy.get_config() == schedule.get_config()
        for step in (0, 4, 25, 50):
            assert _evaluate(copy, step) == _evaluate(schedule, step)


@pytest.mark.parametrize("make, argument", [
    (lambda: ConstantSparsity(1.0, 0), "target_sparsity"),
    (lambda: ConstantSparsity(-0.1, 0), "target_sparsity"),
    (lambda: ConstantSparsity(0.5, -1), "begin_step"),
    (lambda: ConstantSparsity(0.5, 10, end_step=5), "end_step"),
    (lambda: ConstantSparsity(0.5, 0, frequency=0), "frequency"),
    (lambda: ConstantSparsity(0.5, 0.5), "begin_step"),
    (lambda: PolynomialDecay(0.0, 0.5, 10, -1), "end_step"),
    (lambda: PolynomialDecay(0.0, 0.5, 10, 10), "end_step"),
    (lambda: PolynomialDecay(0.0, 1.5, 0, 10), "final_sparsity"),
    (lambda: PolynomialDecay(0.0, 0.5, 0, 10, power=-1), "power"),
])
def test_bad_arguments_are_refused(make, argument):
    with pytest.raises(ValueError, match=argument):
        make()


def test_the_schedule_values_do_not_depend_on_numpy_inputs():
    schedule = ConstantSparsity(0.25, 0, frequency=2)
    assert _evaluate(schedule, np.int32(4)) == _evaluate(schedule, 4) == (True, 0.25)
