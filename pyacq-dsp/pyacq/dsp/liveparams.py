"""Parameters a user changes while a node runs: ``node.params['threshold'] = 1.``.

The processing thread reads them for every chunk, so a bad value would only
fail later, inside that thread. :class:`LiveParams` checks each value when it
is set and raises there, naming the parameter and what it accepts.
"""


class LiveParams(dict):
    """A dict whose keys are fixed and whose values are checked when set.

    ``validate(key, value)`` returns the value to store (possibly converted)
    or raises; ``on_change(key)`` is called after a successful change. It
    stays a plain dict for serializers and ``dict(node.params)``.
    """

    def __init__(self, owner, defaults, validate, on_change=None):
        super().__init__()
        self._owner = owner
        self._validate = validate
        self._on_change = on_change
        for key, value in defaults.items():
            dict.__setitem__(self, key, validate(key, value))

    def __setitem__(self, key, value):
        if key not in self:
            raise KeyError(f"{self._owner}: unknown parameter {key!r}; parameters are {sorted(self)}")
        dict.__setitem__(self, key, self._validate(key, value))
        if self._on_change is not None:
            self._on_change(key)

    def update(self, *args, **kwargs):
        """Set each given value as ``params[key] = value`` does, checked one at a time.

        A value refused raises there, and the values before it stay set.
        """
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def setdefault(self, key, default=None):
        """Refuse with TypeError: the keys are fixed; set a value with ``params[key] = value``."""
        raise TypeError(f"{self._owner}: parameters are fixed; set them with params[key] = value")

    def __delitem__(self, key):
        raise TypeError(f"{self._owner}: parameter {key!r} cannot be deleted")

    def pop(self, *args):
        """Refuse with TypeError: a node's parameters cannot be removed."""
        raise TypeError(f"{self._owner}: parameters cannot be removed")

    def popitem(self):
        """Refuse with TypeError: a node's parameters cannot be removed."""
        raise TypeError(f"{self._owner}: parameters cannot be removed")

    def clear(self):
        """Refuse with TypeError: a node's parameters cannot be removed."""
        raise TypeError(f"{self._owner}: parameters cannot be removed")
