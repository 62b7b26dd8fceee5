"""A proxy tells its user what it stands for: repr, dir and help show the remote object."""
import pydoc

import pytest


def test_repr_names_the_remote_object_its_process_and_address(child, calc):
    """repr() of a proxy the server made names the object's class, its own ``name``,
    the process name and pid, and the server address, without a round trip; an
    attribute path says which attribute of that object it is."""
    remote_child = calc.child._undefer()
    expected = f"Child 'child' in process 'shared-child' (pid {child.pid})"
    assert repr(remote_child) == f"<ObjectProxy to {expected} at {child.client.address}>"
    assert repr(remote_child.hello) == (f"<ObjectProxy to .hello of {expected} at "
                                        f"{child.client.address}>")
    assert str(remote_child) == repr(remote_child)


def test_a_module_is_named_by_its_import_name(child):
    """A proxy to a module names the module (not the module's own ``name`` attribute,
    which ``os`` has)."""
    remote_os = child.client._import("os")
    assert repr(remote_os).startswith("<ObjectProxy to module 'os' in process 'shared-child'")


def test_dir_lists_the_remote_attributes_and_the_proxy_methods(calc):
    """dir(proxy) is the remote object's dir() plus the proxy's own methods, so tab
    completion and discovery work on remote nodes."""
    names = dir(calc)
    assert {"add", "value", "params", "child"} <= set(names)
    assert {"_get_value", "_undefer", "_set_proxy_options", "_delete"} <= set(names)
    assert names == sorted(names)


def test_help_shows_the_remote_docstring(calc):
    """help() and __doc__ on a proxy show the remote object's docstring (the class's own
    docstring stays on ObjectProxy itself)."""
    from pyacq.core.rpc import ObjectProxy
    assert calc.__doc__ == "A plain object with state, methods and attributes of every kind."
    assert "Proxy to an object stored by a remote RPCServer" in ObjectProxy.__doc__
    page = pydoc.render_doc(calc.child._undefer(), renderer=pydoc.plaintext)
    assert "Not serializable: always travels as a proxy." in page
    assert "Proxy to an object stored" not in page


def test_a_proxy_without_a_description_keeps_the_address_form():
    """A proxy built from fields alone (a custom client's, or an old message) has no
    description: its repr shows address, object id, path and type, as before."""
    from pyacq.core.rpc import ObjectProxy
    proxy = ObjectProxy("tcp://127.0.0.1:1", 7, 1, "<class 'x.Y'>", ["out"])
    assert repr(proxy) == "<ObjectProxy for tcp://127.0.0.1:1[7].out <class 'x.Y'>>"


@pytest.mark.parametrize("serializer", ["msgpack", "json"])
def test_the_description_travels_with_the_proxy_and_is_checked(serializer):
    """The description is the extra wire field ``about``; a non-text value is refused
    as a malformed proxy (ValueError), like every other malformed field."""
    from pyacq.core.rpc.serializer import all_serializers
    codec = all_serializers[serializer]()
    fields = {"___type_name___": "proxy", "rpc_addr": "tcp://127.0.0.1:1", "obj_id": 1,
              "ref_id": 1, "type_str": "", "attributes": []}
    proxy = codec.loads(codec.dumps(dict(fields, about="Thing 'a' in process 'p' (pid 1)")))
    assert repr(proxy) == "<ObjectProxy to Thing 'a' in process 'p' (pid 1) at tcp://127.0.0.1:1>"
    with pytest.raises(ValueError, match="about must be text"):
        codec.loads(codec.dumps(dict(fields, about=5)))
