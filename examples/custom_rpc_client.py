"""Talking to pyacq from any language: an RPC client made of ZeroMQ and JSON only.
===============================================================================

pyacq's RPC wire format is plain: a request is a multipart ZeroMQ message
``[request id, action, return type, serializer name, options]`` sent from a
DEALER socket; the reply is one frame, a serialized dict with ``req_id``,
``rval`` and ``error``. Objects that cannot travel by value come back as
proxy dicts (``rpc_addr``, ``obj_id``, ...), which the client sends back in
``opts['obj']`` -- with ``attributes`` naming a method -- to call them.

The first lines use pyacq to start a Manager process, whose RPC server
publishes it under the name ``'manager'``; from then on only ``zmq`` and
``json`` are used: the client
asks the Manager for a new NodeGroup process, connects to that process and
lists the node types it can create. Run it with::

    python custom_rpc_client.py
    python custom_rpc_client.py --duration 5   # wait at most 5 s for each reply
"""
import argparse
import itertools
import json

import zmq


def start_pyacq_manager():
    """Start a Manager in its own process; return (manager, address of its RPC server)."""
    from pyacq import create_manager
    manager = create_manager()
    return manager, manager._rpc_addr


class JsonRpcConnection:
    """A DEALER socket connected to one pyacq RPC server, speaking the json serializer."""

    _request_ids = itertools.count()

    def __init__(self, context, address, identity, timeout):
        self.address = address
        self.socket = context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.IDENTITY, identity.encode())
        self.socket.setsockopt(zmq.RCVTIMEO, int(timeout * 1000))
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.connect(address)

    def request(self, action, opts=None):
        """Send one request and return the reply's value; a remote error raises RuntimeError."""
        req_id = next(self._request_ids)
        options = b"" if opts is None else json.dumps(opts).encode()
        frames = [str(req_id).encode(), action.encode(), b"auto", b"json", options]
        print(f">>> {self.address}: {[f.decode() for f in frames]}")
        self.socket.send_multipart(frames)
        while True:
            try:
                reply = json.loads(self.socket.recv())
            except zmq.Again:
                raise TimeoutError(f"no reply from {self.address} to {action!r}") from None
            if reply.get("req_id") == req_id:
                break
        print(f"<<< {json.dumps(reply)[:300]}")
        if reply.get("error") is not None:
            raise RuntimeError(f"remote error: {''.join(reply['error'][1])}")
        return reply["rval"]

    def call(self, obj, method, *args, **kwargs):
        """Call *method* of the remote object *obj* (a proxy dict) and return its result."""
        target = dict(obj, attributes=[method])
        return self.request("call_obj", {"obj": target, "args": list(args), "kwargs": kwargs})

    def close(self):
        self.socket.close()


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--duration", type=float, default=30.,
                        help="seconds to wait for each reply (default: 30)")
    return parser.parse_args()


def main():
    args = parse_args()
    manager, address = start_pyacq_manager()
    context = zmq.Context()
    connections = []
    try:
        # --- from here on: zmq and json only ---
        to_manager = JsonRpcConnection(context, address, "json-client", args.duration)
        connections.append(to_manager)
        print("ping:", to_manager.request("ping"))
        remote_manager = to_manager.request("get_item", {"name": "manager"})
        nodegroup = to_manager.call(remote_manager, "create_nodegroup", name="json_nodegroup", qt=False)
        names = [ng["rpc_addr"] for ng in to_manager.call(remote_manager, "list_nodegroups")]
        print(f"nodegroups: {names}")

        to_nodegroup = JsonRpcConnection(context, nodegroup["rpc_addr"], "json-client", args.duration)
        connections.append(to_nodegroup)
        node_types = to_nodegroup.call(nodegroup, "list_node_types")
        print(f"node types: {', '.join(node_types)}")
    finally:
        for connection in connections:
            connection.close()
        context.term()
        manager.close()


if __name__ == "__main__":
    main()
