"""Parameters a user changes while a node runs: ``node.params['threshold'] = 1.``.

The processing thread reads them for every chunk, so a bad value would only
fail later, inside that thread. :class:`LiveParams` checks each change when it
is made and raises there, naming the parameter and what it accepts.
"""


class LiveParams(dict):
    """A dict whose keys are fixed and whose values are checked whenever they change.

    Every way of changing it (``params[key] = value``, ``update()``, ``|=``)
    checks all the values it is given before storing any: a change is made
    whole or not at all, so the processing thread never sees a half-made one.
    No key can be added or removed (the processing thread reads them all).
    It stays a plain dict for serializers and ``dict(node.params)``.

    Parameters
    ----------
    owner : str
        Names the node in the error messages.
    defaults : dict
        The parameters and their first values (checked like any change).
    validate : callable
        ``validate(key, value)`` returns the value to store (possibly
        converted) or raises when the value is wrong whatever the others are.
    check_combination : callable, optional
        ``check_combination(values)`` raises when the parameter set the change
        would give (every value already validated) does not hold together,
        e.g. a window whose start is after its end.
    on_change : callable, optional
        ``on_change(keys)`` is called after each change with the keys it set.
    """

    def __init__(self, owner, defaults, validate, check_combination=None, on_change=None):
        super().__init__(defaults)
        self._owner = owner
        self._validate = validate
        self._check_combination = check_combination
        self._on_change = on_change
        dict.update(self, self._checked(defaults))

    def _checked(self, changes):
        """The validated values of ``changes``, once the whole parameter set they give is checked."""
        unknown = [key for key in changes if key not in self]
        if unknown:
            raise KeyError(f"{self._owner}: unknown parameter {unknown[0]!r}; parameters are {sorted(self)}")
        checked = {key: self._validate(key, value) for key, value in changes.items()}
        if self._check_combination is not None:
            self._check_combination({**self, **checked})
        return checked

    def _apply(self, changes):
        checked = self._checked(changes)
        dict.update(self, checked)
        if self._on_change is not None and checked:
            self._on_change(tuple(checked))

    def __setitem__(self, key, value):
        self._apply({key: value})

    def update(self, *args, **kwargs):
        """Set the given values, all checked together first: one refused value changes nothing."""
        self._apply(dict(*args, **kwargs))

    def __ior__(self, other):
        self._apply(dict(other))
        return self

    def setdefault(self, key, default=None):
        """Return the value of parameter ``key``; a key that is not a parameter is refused (KeyError)."""
        if key not in self:
            raise KeyError(f"{self._owner}: unknown parameter {key!r}; parameters are {sorted(self)}")
        return self[key]

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
