"""ProcessSpawner(env=...): each child's environment is built for it, os.environ is only read."""
import os
import threading

from process_checks import environ_read_only


def test_children_spawned_at_once_get_their_own_environment(spawn, monkeypatch):
    """Two threads spawning at the same moment with different env each give their child their
    own variables, over a copy of os.environ (None unsets a variable there), and os.environ
    is never written while they spawn."""
    monkeypatch.setenv("PYACQ_TEST_INHERITED", "from the parent")
    monkeypatch.setenv("PYACQ_TEST_UNSET", "from the parent")
    together = threading.Barrier(2, timeout=30)
    children, errors = {}, []

    def spawn_with(label):
        try:
            together.wait()
            children[label] = spawn(name=f"env-{label}",
                                    env={"PYACQ_TEST_OWN": label, "PYACQ_TEST_UNSET": None})
        except BaseException as exc:  # noqa: BLE001 -- reported by the assertions below
            errors.append(exc)

    with environ_read_only(monkeypatch):
        threads = [threading.Thread(target=spawn_with, args=(label,)) for label in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
    assert errors == []
    for label, child in children.items():
        environ = child.client._import("os").environ
        assert environ.get("PYACQ_TEST_OWN") == label
        assert environ.get("PYACQ_TEST_INHERITED") == "from the parent"
        assert environ.get("PYACQ_TEST_UNSET") is None
    assert sorted(children) == ["a", "b"]
    assert "PYACQ_TEST_OWN" not in os.environ and os.environ["PYACQ_TEST_UNSET"] == "from the parent"
