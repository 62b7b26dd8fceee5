"""Notifications a processing node sends to whoever watches it (a viewer, a script).

A node in a headless process must not import Qt, yet a Qt viewer wants a real
Qt signal so that its slot runs in the GUI thread. ``make_notifier`` gives
both the same ``connect`` / ``disconnect`` / ``emit`` interface: a
:class:`CallbackNotifier` calls plain callbacks in the emitting (processing)
thread; with ``use_qt=True`` the notifier is a bound Qt signal, delivered
through the receiver's event loop (queued across threads).
"""
import threading


class CallbackNotifier:
    """A signal-like list of callbacks, called in the thread that emits."""

    def __init__(self, name):
        self.name = name
        self._callbacks = []
        self._lock = threading.Lock()

    def __repr__(self):
        return f"<CallbackNotifier {self.name!r} with {len(self._callbacks)} callbacks>"

    def connect(self, callback):
        """Call ``callback(*args)`` on every ``emit(*args)``."""
        if not callable(callback):
            raise TypeError(f"{self.name}.connect() needs a callable, got {callback!r}")
        with self._lock:
            self._callbacks.append(callback)

    def disconnect(self, callback=None):
        """Forget ``callback`` (every callback when None), like Qt's ``disconnect()``."""
        with self._lock:
            if callback is None:
                self._callbacks.clear()
            elif callback in self._callbacks:
                self._callbacks.remove(callback)
            else:
                raise TypeError(f"{self.name}.disconnect(): {callback!r} is not connected")

    def emit(self, *args):
        """Call every connected callback with ``args``, in this thread, in the order they were connected.

        An exception from a callback propagates to the emitter, and the later callbacks are not called.
        """
        with self._lock:
            callbacks = list(self._callbacks)
        for callback in callbacks:
            callback(*args)


def make_notifier(name, use_qt, n_args=1):
    """Return ``(notifier, owner)``: ``notifier`` has ``connect``/``disconnect``/``emit``
    carrying ``n_args`` objects; keep ``owner`` alive as long as the notifier.

    ``use_qt=True`` imports Qt (through pyqtgraph): ``notifier`` is then a bound
    Qt signal and ``owner`` the QObject carrying it. Without Qt installed it
    raises ImportError naming the packages to install.
    """
    if not use_qt:
        return CallbackNotifier(name), None
    try:
        from pyqtgraph.Qt import QtCore
    except ImportError as exc:
        raise ImportError(
            f"emit_qt_signal=True needs Qt: install PyQt5 and pyqtgraph "
            f"(pip install 'pyacq-dsp[qt]'); {exc}"
        ) from exc
    emitter_class = type(f"{name}Emitter", (QtCore.QObject,),
                         {name: QtCore.Signal(*([object] * n_args))})
    emitter = emitter_class()
    return getattr(emitter, name), emitter
