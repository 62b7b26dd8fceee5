"""One page per node type, generated from the installed distributions' entry points.

Each page names the distribution and module of the node, its import line, what
to install for it (read from the install hints its module gives in its errors),
its input and output streams (the class's ``_input_specs`` / ``_output_specs``),
how to try it without hardware, then the class and its ``configure`` keywords
(autodoc and numpydoc). The pages are written into ``nodes/`` before Sphinx reads
the sources, so a node added by a plugin appears without editing the docs.
"""
import inspect
import re
from importlib.metadata import entry_points
from pathlib import Path

#: How to run a node without its hardware (node type -> reST).
WITHOUT_HARDWARE = {
    "BrainAmpSocket": "Start :class:`pyacq.devices.simulators.RDAServer`, which serves BrainVision "
                      "Recorder's RDA protocol on 127.0.0.1, and point ``brainamp_host`` and "
                      "``brainamp_port`` at it.",
    "OpenBCI": "Start :class:`pyacq.devices.simulators.OpenBCIBoard`, a Cyton (with or without "
               "Daisy) on a pseudo-terminal, and give its terminal's path as ``device_handle``.",
    "Emotiv": "Feed the reports of :class:`pyacq.devices.simulators.EmotivHeadset` (encrypted "
              "EPOC HID reports) through a file given as ``device_handle``.",
    "PyAudio": "Run a PulseAudio daemon with a null sink or a sine source (``pulseaudio -n`` with "
               "``module-null-sink`` and ``module-sine``); PortAudio reaches it through ALSA's "
               "``pulse`` device. The examples gallery is built this way.",
    "WebCamAV": "Give ffmpeg's synthetic source: ``camera_name='testsrc=size=320x240:rate=30'`` "
                "and ``av_options={'format': 'lavfi'}``.",
    "WebCamImageIO": "Point ``uri`` at a video file, which imageio-ffmpeg reads as a camera.",
    "LslInlet": "Publish a stream with :class:`LslOutlet` (or pylsl's ``StreamOutlet``) in "
                "another process; set ``ResolveScope = machine`` in an ``LSLAPICFG`` file to keep "
                "LSL's discovery on this machine.",
    "NumpyDeviceBuffer": "It needs no hardware: it replays a numpy array (by default a generated "
                         "test signal) at the stream's sample rate.",
}

_INSTALL_HINT = re.compile(r"pip install '?(pyacq-[a-z]+\[[a-z0-9,]+\])'?")


def node_classes():
    """``{type name: (class, distribution name)}`` of every installed node type."""
    found = {}
    for entry in entry_points(group="pyacq.nodes"):
        found[entry.name] = (entry.load(), entry.dist.name if entry.dist else "")
    return dict(sorted(found.items()))


def _install_line(cls, distribution):
    """The distribution to install, and the extras the node's module asks for in its errors."""
    source = inspect.getsource(inspect.getmodule(cls))
    extras = sorted(set(_INSTALL_HINT.findall(source)))
    line = f"``pip install {distribution}``"
    if extras:
        named = ", ".join(f"``pip install '{extra}'``" for extra in extras)
        line += f"; for the library it uses, its module asks for {named}"
    return line


def _spec_rows(specs):
    rows = []
    for name, spec in specs.items():
        described = ", ".join(f"{key}={value!r}" for key, value in sorted(spec.items())) or "any"
        rows.append(f"   * - ``{name}``\n     - {described}")
    return rows


def _streams_section(cls):
    lines = []
    for title, specs in (("Inputs", cls._input_specs), ("Outputs", cls._output_specs)):
        if not specs:
            lines += [f"**{title}**: none.", ""]
            continue
        lines += [f"**{title}**", "", ".. list-table::", "   :header-rows: 1", "",
                  "   * - stream", "     - what the class declares", *_spec_rows(specs), ""]
    return lines


def node_page(name, cls, distribution):
    """The reST page of one node type."""
    path = f"{cls.__module__}.{cls.__qualname__}"
    lines = [name, "=" * len(name), "",
             f":Distribution: ``{distribution}``",
             f":Module: ``{cls.__module__}``",
             f":Import: ``from pyacq import {name}``",
             f":Install: {_install_line(cls, distribution)}",
             "", *_streams_section(cls)]
    if name in WITHOUT_HARDWARE:
        lines += ["**Without hardware**: " + WITHOUT_HARDWARE[name], ""]
    lines += [f".. autoclass:: {path}", "   :members: configure", "   :no-inherited-members:",
              "   :show-inheritance:", ""]
    return "\n".join(lines)


def index_page(classes):
    """The reST page listing every node type, with the toctree of their pages."""
    intro = ("Every node type installed where the documentation was built, found through the "
             "``pyacq.nodes`` entry points (``pyacq nodes`` lists them). Each page gives its "
             "streams, what to install and its ``configure()`` keywords.")
    lines = ["Node types", "==========", "", intro, "",
             ".. list-table::", "   :header-rows: 1", "", "   * - node type", "     - distribution",
             "     - what it does"]
    for name, (cls, distribution) in classes.items():
        summary = (inspect.getdoc(cls) or "").strip().split("\n")[0]
        lines += [f"   * - :doc:`{name}`", f"     - ``{distribution}``", f"     - {summary}"]
    lines += ["", ".. toctree::", "   :hidden:", "", *(f"   {name}" for name in classes), ""]
    return "\n".join(lines)


def _write_if_changed(path, text):
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def write_pages(app):
    """Write ``nodes/index.rst`` and a page per node type into the source directory."""
    target = Path(app.srcdir) / "nodes"
    target.mkdir(exist_ok=True)
    classes = node_classes()
    for name, (cls, distribution) in classes.items():
        _write_if_changed(target / f"{name}.rst", node_page(name, cls, distribution))
    _write_if_changed(target / "index.rst", index_page(classes))


def setup(app):
    """Register the page generation with Sphinx (before the sources are read)."""
    app.connect("builder-inited", write_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
