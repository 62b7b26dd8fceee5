"""Worker threads of nodes, and how an exception that ends one reaches its node.

A device's sending thread or a node's polling thread that dies must not leave
its node looking "running" while nothing flows: :func:`run_reporting_failure`
hands the exception to the node (:meth:`Node.report_thread_failure
<pyacq.core.node.Node.report_thread_failure>`), which logs it once, records it
in ``node.error`` and leaves the ``running`` state for ``failed``.
"""
import logging
import threading

logger = logging.getLogger(__name__)


def run_reporting_failure(node, work, thread_name=None):
    """Run ``work()`` in the calling (worker) thread; report an exception that ends it.

    The exception goes to ``node`` (see ``Node.report_thread_failure``); with ``node``
    None (a thread that serves no node) it is logged with the thread's name.
    """
    try:
        work()
    except Exception as error:
        name = thread_name or threading.current_thread().name
        if node is None:
            logger.exception("thread %r failed", name)
        else:
            node.report_thread_failure(error, name)


class NodeThread(threading.Thread):
    """A daemon thread working for ``node``: an exception that ends it marks the node failed.

    Pass ``target`` (called without arguments), or subclass and override
    :meth:`work`.

    Parameters
    ----------
    node : Node or None
        The node the thread works for, told of an exception that ends the thread
        (``report_thread_failure``); None for a thread serving no node, whose
        failure is only logged.
    target : callable, optional
        The work, called once without arguments in the thread; needed unless a
        subclass overrides :meth:`work`.
    name : str, optional
        The thread's name, shown in the failure's log record and in
        ``node.error_message()``. Default: Python's ``Thread-N``.
    """

    def __init__(self, node, target=None, name=None):
        super().__init__(name=name, daemon=True)
        self.node = node
        self._work = target

    def run(self):
        """Run :meth:`work` in this thread; an exception that ends it is reported to the node."""
        run_reporting_failure(self.node, self.work, self.name)

    def work(self):
        """The thread's job (by default, the ``target`` given at creation)."""
        self._work()
