"""one_ahead: the same items in the same order, made one ahead in another thread, errors in their place."""

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_core.one_ahead import one_ahead


@given(st.lists(st.integers()))
def test_yields_every_item_in_order(items):
    assert list(one_ahead(items)) == items


def test_the_next_item_is_made_in_another_thread_while_the_caller_has_this_one():
    made, makers = [], []
    next_made = threading.Event()

    def items():
        for i in range(4):
            makers.append(threading.current_thread().name)
            made.append(i)
            if i == 1:
                next_made.set()
            yield i

    it = one_ahead(items())
    assert next(it) == 0
    assert next_made.wait(5)  # item 1 is made while the caller still holds item 0...
    assert made == [0, 1]  # ...and no further: one ahead at most
    assert list(it) == [1, 2, 3]
    assert threading.current_thread().name not in makers


def test_an_error_reaches_the_caller_after_the_items_before_it():
    def items():
        yield 1
        yield 2
        raise ValueError("bad batch")

    got = []
    with pytest.raises(ValueError, match="bad batch"):
        for item in one_ahead(items()):
            got.append(item)
    assert got == [1, 2]


def test_stopping_early_leaves_no_thread_running():
    def items():
        yield from range(1_000)

    before = {t.ident for t in threading.enumerate()}
    for item in one_ahead(items()):
        if item == 3:
            break
    assert not [t for t in threading.enumerate() if t.ident not in before and t.name.startswith("one-ahead")]
