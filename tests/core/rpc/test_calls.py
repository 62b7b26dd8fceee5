"""Calls through ObjectProxy to a spawned process: sync modes, return types, errors."""
import concurrent.futures
import contextlib
import gc
import os
import time

import numpy as np
import pytest
from process_checks import wait_until
from pyacq.core.rpc import Future, ObjectProxy, RemoteCallException
from pyacq.core.rpc.proxy import _MAX_CHILDREN


def test_sync_call_returns_value(calc):
    """A default call blocks and returns the remote result by value."""
    assert calc.add(2, 3) == 5
    assert calc.add("a", "b") == "ab"


def test_call_runs_in_the_child(child, calc):
    """The call runs in the spawned process, not here."""
    assert child.client._import("os").getpid() == child.pid != os.getpid()


def test_async_call_returns_future(calc):
    """_sync='async' returns a Future with concurrent.futures semantics."""
    future = calc.add(1, 2, _sync="async")
    assert isinstance(future, Future) and isinstance(future, concurrent.futures.Future)
    assert future.result(timeout=10) == 3
    assert future.done() and future.hasResult()
    futures = [calc.accumulate(1, _sync="async") for _ in range(50)]
    assert [f.result(10) for f in futures] == list(range(1, 51))


def test_off_call_returns_none_and_still_runs(calc):
    """_sync='off' returns None at once; the call still runs (in order)."""
    assert calc.accumulate(5, _sync="off") is None
    assert calc.value._get_value() == 5


def test_proxy_option_sets_default_sync(calc):
    """_set_proxy_options(sync='async') changes what calls return by default."""
    calc._set_proxy_options(sync="async")
    future = calc.add(1, 1)
    assert future.result(10) == 2
    calc._set_proxy_options(sync=None)
    assert calc.add(1, 1) == 2


def test_return_types(child, calc):
    """'auto' sends plain data by value and objects by proxy; 'proxy'/'value' force it."""
    assert calc.params._undefer() == {"dtype": "float32", "shape": [2, 3], "rate": 1000.0}
    assert isinstance(calc.array._undefer(), np.ndarray)
    assert isinstance(calc.child._undefer(), ObjectProxy)
    assert calc.child.name._get_value() == "child"
    rnp = child.client._import("numpy")
    as_proxy = rnp.arange(4, _return_type="proxy")
    assert isinstance(as_proxy, ObjectProxy)
    np.testing.assert_array_equal(as_proxy._get_value(), np.arange(4))
    np.testing.assert_array_equal(rnp.arange(4, _return_type="value"), np.arange(4))
    with pytest.raises(RemoteCallException, match="by value"):
        calc.make_child(_return_type="value")


def test_attribute_access_is_deferred_by_default(calc):
    """By default an attribute is a proxy to its path, made without a round trip;
    ``[]``, ``in``, ``len`` and calls on it reach the remote attribute."""
    rparams = calc.params
    assert isinstance(rparams, ObjectProxy) and rparams._attributes == ("params",)
    rparams["rate"] = 5.0
    assert rparams["rate"] == 5.0
    assert "rate" in rparams and len(rparams) == 3
    del rparams["rate"]
    assert calc.params._get_value() == {"dtype": "float32", "shape": [2, 3]}
    assert calc.child.name.upper() == "CHILD"


def test_attribute_proxies_are_reused_until_options_change(calc):
    """Looking up the same attribute again gives the same proxy (``remote_os.getpid()`` in a
    loop builds nothing new) as long as neither the proxy's nor the attribute proxy's
    options changed; after a change the lookup gives a proxy with the current options."""
    add = calc.add
    assert calc.add is add and add(1, 2) == 3
    add._set_proxy_options(sync="async")
    assert calc.add is not add and calc.add(1, 2) == 3
    assert add(1, 2).result(timeout=10) == 3
    plain = calc.add
    calc._set_proxy_options(sync="async")
    try:
        assert calc.add is not plain and calc.add(2, 2).result(timeout=10) == 4
    finally:
        calc._set_proxy_options(sync=None)
    assert calc.add(2, 3) == 5


def test_many_attribute_names_keep_few_proxies(calc):
    """A loop over many attribute names does not make the proxy hold one proxy per name."""
    for index in range(1000):
        getattr(calc, f"name{index}")
    assert len(calc._children) <= _MAX_CHILDREN


def test_defer_getattr_false_fetches_attributes_at_once(calc):
    """``defer_getattr=False`` keeps the eager behaviour: an attribute access is a round
    trip returning the value (plain data) or a proxy (other objects)."""
    calc._set_proxy_options(defer_getattr=False)
    calc.value = 42
    assert calc.value == 42
    assert calc.params == {"dtype": "float32", "shape": [2, 3], "rate": 1000.0}
    child = calc.child
    assert isinstance(child, ObjectProxy) and child.name == "child"
    with pytest.raises(RemoteCallException) as info:
        _ = calc.no_such_attribute
    assert info.value.type_str == "AttributeError"


def test_missing_attribute_raises_at_first_use_naming_the_path(calc):
    """A deferred missing attribute raises when first used (call, value, undefer), as a
    RemoteCallException naming AttributeError and the attribute path."""
    missing = calc.child.no_such_attribute
    for use in (missing._get_value, missing._undefer, missing):
        with pytest.raises(RemoteCallException, match="child.no_such_attribute") as info:
            use()
        assert info.value.type_str == "AttributeError"


def test_remote_exception_carries_type_and_traceback(calc):
    """A remote error raises RemoteCallException with the remote type and traceback."""
    with pytest.raises(RemoteCallException) as info:
        calc.fail("boom")
    assert info.value.type_str == "ValueError"
    text = "".join(info.value.remote_traceback)
    assert "boom" in text and "rpc_test_helpers.py" in text and "in fail" in text
    future = calc.fail("later", _sync="async")
    with pytest.raises(RemoteCallException, match="later"):
        future.result(10)
    assert isinstance(future.exception(10), RemoteCallException)


def test_timeout_raises_timeout_error(calc):
    """A sync call that takes longer than _timeout raises TimeoutError; the client survives."""
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        calc.sleep(2.0, _timeout=0.2)
    assert time.monotonic() - start < 1.9
    future = calc.sleep(0.5, _sync="async")
    with pytest.raises(TimeoutError):
        future.result(timeout=0.05)
    assert future.result(timeout=20) == 0.5
    assert calc.add(1, 2) == 3


def test_sync_call_settles_earlier_async_replies_on_its_way(child, calc):
    """A sync call made while async calls are pending reads their replies first, settles
    their Futures, returns its own result and leaves nothing pending behind it; a sync call
    that raises leaves nothing pending either."""
    futures = [calc.add(i, 1, _sync="async") for i in range(20)]
    assert calc.add(100, 1) == 101
    # The base class's done() only reads the state (Future.done() would read replies).
    assert all(concurrent.futures.Future.done(future) for future in futures)
    assert [future.result(0) for future in futures] == list(range(1, 21))
    with pytest.raises(RemoteCallException):
        calc.no_such_method()
    assert child.client._futures == {}


def test_futures_work_with_concurrent_futures_tools(calc):
    """Futures keep concurrent.futures semantics: wait() and as_completed() see the ones
    settled, done callbacks run (also one added after the result), a result is delivered to
    another thread that waits while this one reads the replies, and an error reaches both."""
    first, second = calc.sleep(0.2, _sync="async"), calc.add(1, 2, _sync="async")
    seen = []
    first.add_done_callback(lambda future: seen.append(future.result(0)))
    waiter = concurrent.futures.ThreadPoolExecutor(1)
    try:
        elsewhere = waiter.submit(first.result, 20)
        assert not elsewhere.done()
        assert first.result(timeout=20) == 0.2  # this thread reads the reply
        assert elsewhere.result(timeout=20) == 0.2 and seen == [0.2]
        assert calc.add(0, 0) == 0  # a sync call reads the replies that came before
        done, _ = concurrent.futures.wait([second], timeout=20)
        assert done == {second} and second.result(0) == 3
        failing = calc.no_such_method(_sync="async")
        other = waiter.submit(failing.exception, 20)
        assert isinstance(failing.exception(20), RemoteCallException)
        assert isinstance(other.result(timeout=20), RemoteCallException)
    finally:
        waiter.shutdown()
    late = []
    second.add_done_callback(late.append)
    assert late == [second]
    many = [calc.add(i, 0, _sync="async") for i in range(10)]
    pending = set(many)
    while pending:  # as_completed() needs this thread to read the replies
        pending = {future for future in pending if not future.done()}
    assert sorted(f.result(0) for f in concurrent.futures.as_completed(many, timeout=20)) == \
        list(range(10))


def test_cancel_future(calc):
    """cancel() succeeds before the reply and fails after; a cancelled result raises."""
    future = calc.sleep(0.3, _sync="async")
    assert future.cancel()
    assert future.cancelled()
    with pytest.raises(concurrent.futures.CancelledError):
        future.result(1)
    done = calc.add(1, 1, _sync="async")
    assert done.result(10) == 2
    assert not done.cancel()


def test_future_done_polls_without_blocking(calc):
    """done() becomes true by itself while the caller polls it."""
    future = calc.sleep(0.2, _sync="async")
    assert not future.done()
    assert wait_until(future.done, timeout=20)
    assert future.result(0) == 0.2


def test_repr_hash_eq_are_local(child, calc):
    """repr/str never contact the server; hash and == compare remote identity."""
    text = repr(calc)
    assert "ObjectProxy" in text and "Calculator" in text and str(calc) == text
    same = calc.identity(calc, _return_type="proxy")
    assert same == calc and hash(same) == hash(calc)
    other = child.client._import("rpc_test_helpers").Calculator()
    assert other != calc
    assert len({calc, same, other}) == 2
    assert bool(calc)


def test_transfer_and_named_objects(child):
    """transfer() returns a proxy to a copy; client[name] get/set named objects."""
    proxy = child.client.transfer([1, 2, 3])
    assert isinstance(proxy, ObjectProxy)
    proxy.append(4)
    assert proxy._get_value() == [1, 2, 3, 4]
    child.client["shared"] = {"x": 1}
    assert child.client["shared"] == {"x": 1}
    with pytest.raises(RemoteCallException, match="no object published"):
        child.client["missing"]


def test_ping_and_connection(child):
    """ping() answers 'pong'; ensure_connection() succeeds on a live server."""
    assert child.client.ping() == "pong"
    assert child.client.ensure_connection(timeout=10)
    assert not child.client.disconnected()


def test_clock_diff_is_small_on_one_host(child):
    """measure_clock_diff() between two processes of one machine is near zero."""
    assert abs(child.client.measure_clock_diff()) < 0.5


def test_iteration_and_operators(child):
    """Iteration, len and arithmetic are forwarded to the remote object."""
    rlist = child.client.transfer([3, 1, 2])
    assert list(rlist) == [3, 1, 2]
    assert len(rlist) == 3
    rnum = child.client._import("numpy").float64(2.0, _return_type="proxy")
    assert rnum + 1 == 3.0 and rnum * 3 == 6.0 and -rnum == -2.0


@contextlib.contextmanager
def no_garbage_releases(client):
    """Proxies freed by the garbage collector release their server references at the next
    request: collect and flush those first, and let none be collected inside the block."""
    gc.collect()
    client.ping()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def test_explicit_delete_releases_object(child):
    """_delete() releases the server's reference; the proxy is unusable afterwards."""
    helpers = child.client._import("rpc_test_helpers")
    with no_garbage_releases(child.client):
        before = helpers.object_count()
        obj = helpers.Child()
        assert helpers.object_count() == before + 1
        obj._delete()
        assert helpers.object_count() == before
    with pytest.raises(RemoteCallException, match="unknown object reference"):
        obj.hello()


def test_auto_delete_keeps_server_bounded(child):
    """Proxies dropped locally release their remote objects: the table does not grow."""
    helpers = child.client._import("rpc_test_helpers")
    calc = helpers.Calculator()
    baseline = helpers.object_count()
    for _ in range(300):
        calc.make_child().hello()
    assert helpers.object_count() <= baseline + 5
    kept = calc.make_child()
    kept._set_proxy_options(auto_delete=False)
    with no_garbage_releases(child.client):
        count = helpers.object_count()
        del kept
        assert helpers.object_count() == count


def test_proxy_usable_from_another_thread(calc):
    """A proxy works from a second thread (through that thread's own client)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        assert pool.submit(calc.add, 20, 22).result(timeout=20) == 42


def test_invalid_options_rejected(calc):
    """Unknown sync modes and return types raise ValueError locally."""
    with pytest.raises(ValueError):
        calc.add(1, 2, _sync="maybe")
    with pytest.raises(ValueError):
        calc.add(1, 2, _return_type="copy")
    with pytest.raises(TypeError):
        calc._set_proxy_options(colour="red")


def test_deferred_attributes_used_as_values_are_fetched(calc):
    """A deferred attribute compared with a value, truth-tested, or turned into an int,
    float or index is fetched first, so a script's ``if node.input.source_lost:`` or
    ``node.input.gap_count == 0`` means what it says; proxies compare by identity."""
    calc.value = 0
    assert calc.value == 0 and not calc.value and calc.value != 1
    calc.value = 3
    assert calc.value and int(calc.value) == 3 and float(calc.value) == 3.0
    assert ["a", "b", "c", "d"][calc.value] == "d"
    assert calc.params != {} and calc.missing_attribute_proxy_is_never_equal_to is not None
    assert calc.child != "child" and calc.child == calc.child and calc.child != calc.array
    assert calc.child.name == "child"
    assert f"{calc.child.name}|{calc.value:03d}" == "child|003"
    assert f"{calc.child}".startswith("<ObjectProxy") and "Child 'child' in process" in f"{calc.child}"


def test_an_unsupported_remote_operator_raises_type_error(calc):
    """An ordering or arithmetic operator the remote object does not support raises
    TypeError naming the remote type, instead of a truthy NotImplemented."""
    calc.value = 3
    assert calc.value < 4 and calc.value + 1 == 4
    with pytest.raises(TypeError, match="__lt__ is not supported .* str"):
        _ = calc.value < "a"
