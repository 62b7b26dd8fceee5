"""pyacq.viewers: Qt viewer nodes (plugin distribution ``pyacq-viewers``).

Node classes are registered through ``pyacq.nodes`` entry points; Qt is
imported only when a viewer module is.
"""
