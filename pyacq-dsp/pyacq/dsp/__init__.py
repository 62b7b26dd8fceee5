"""pyacq.dsp: signal processing nodes (plugin distribution ``pyacq-dsp``).

Node classes are registered through ``pyacq.nodes`` entry points; scipy is
imported only by the modules that compute with it.
"""
