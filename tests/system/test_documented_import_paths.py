"""Every import path that pyacq 2.0 users write keeps giving the same objects.

The paths come from the API tables and the examples of the pyacq 2.0
documentation (``pyacq.core.host.Host``, ``from pyacq.core.tools import
ThreadPollInput``, ``import pyacq.core.rpc as rpc``, ...) and from the flat
``pyacq.core`` of before its sub-packages: ``pyacq.core.manager``,
``pyacq.core.registry``, ``pyacq.core.inputpoller``... are the modules of
``pyacq.core.distributed``, ``pyacq.core.plugins`` and
``pyacq.core.streamtools`` under their old names.
"""
import importlib

import pytest

#: Module -> names, as the documentation's API tables and examples use them.
DOCUMENTED = {
    "pyacq": ["create_manager", "Node", "WidgetNode", "register_node_type", "InputStream",
              "OutputStream", "RingBuffer", "RPCServer", "RPCClient", "ObjectProxy",
              "ProcessSpawner", "ThreadPollInput", "ThreadPollOutput", "StreamConverter",
              "ChannelSplitter", "ChunkResizer", "ImageViewer", "WebCamAV"],
    "pyacq.core": ["create_manager", "Manager", "NodeGroup", "Node", "WidgetNode",
                   "register_node_type", "register_node_type_from_module", "InputStream",
                   "OutputStream", "RingBuffer", "RPCServer", "RPCClient", "ObjectProxy",
                   "ProcessSpawner", "ThreadPollInput", "ThreadPollOutput", "StreamConverter",
                   "ChannelSplitter", "ChunkResizer"],
    "pyacq.core.node": ["Node"],
    "pyacq.core.nodegroup": ["NodeGroup"],
    "pyacq.core.manager": ["Manager", "create_manager"],
    "pyacq.core.host": ["Host"],
    "pyacq.core.tools": ["ThreadPollInput", "ThreadPollOutput", "StreamConverter",
                         "ChannelSplitter", "ChunkResizer", "InputPoller"],
    "pyacq.core.registry": ["register_node_type", "register_node_type_from_module",
                            "list_node_types", "get_node_type"],
    "pyacq.core.hookspecs": ["pyacq_list_devices", "pyacq_missing_probe_libraries"],
    "pyacq.core.plugins": ["hookimpl", "get_plugin_manager", "list_devices",
                           "list_missing_probe_libraries", "PLUGIN_ENTRY_POINT_GROUP"],
    "pyacq.core.node_thread": ["NodeThread", "run_reporting_failure"],
    "pyacq.core.widgetnode": ["WidgetNode"],
    "pyacq.core.rpc": ["RPCServer", "QtRPCServer", "RPCClient", "ObjectProxy", "Future",
                       "ProcessSpawner", "RemoteCallException"],
    "pyacq.core.rpc.serializer": ["Serializer", "MsgpackSerializer", "JsonSerializer",
                                  "all_serializers"],
    "pyacq.core.rpc.log": ["start_log_server", "LogServer", "LogSender", "RPCLogHandler",
                           "log_exceptions", "set_host_name", "get_host_name", "set_process_name",
                           "get_process_name", "set_thread_name", "get_thread_name",
                           "set_logger_address", "get_logger_address"],
    "pyacq.core.stream": ["OutputStream", "InputStream", "RingBuffer", "all_transfermodes",
                          "compression_methods"],
    "pyacq.core.stream.plaindatastream": ["PlainDataSender"],
    "pyacq.core.stream.sharedmemstream": ["SharedMemSender"],
    "pyacq.core.stream.sharedarray": ["SharedMem", "SharedArray"],
    "pyacq.core.stream.ringbuffer": ["RingBuffer"],
    "pyacq.devices": ["NumpyDeviceBuffer", "PyAudio", "WebCamAV", "WebCamImageIO",
                      "BrainAmpSocket", "Emotiv", "OpenBCI"],
    "pyacq.devices.npbufferdevice": ["NumpyDeviceBuffer"],
    "pyacq.devices.audio_pyaudio": ["PyAudio"],
    "pyacq.devices.webcam_av": ["WebCamAV"],
    "pyacq.devices.webcam_imageio": ["WebCamImageIO"],
    "pyacq.devices.brainampsocket": ["BrainAmpSocket"],
    "pyacq.devices.eeg_emotiv": ["Emotiv"],
    "pyacq.devices.eeg_openBCI": ["OpenBCI"],
    "pyacq.dsp": ["AnalogTrigger", "DigitalTrigger", "TriggerAccumulator", "SosFilter",
                  "OverlapFiltfilt"],
    "pyacq.dsp.trigger": ["AnalogTrigger", "DigitalTrigger"],
    "pyacq.dsp.triggeraccumulator": ["TriggerAccumulator"],
    "pyacq.dsp.sosfilter": ["SosFilter"],
    "pyacq.dsp.overlapfiltfilt": ["OverlapFiltfilt"],
    "pyacq.viewers": ["QOscilloscope", "QTriggeredOscilloscope", "QTimeFreq", "TimeFreqWorker",
                      "ImageViewer", "QDigitalOscilloscope", "QOscilloscopeMultiPlot"],
    "pyacq.viewers.qoscilloscope": ["QOscilloscope"],
    "pyacq.viewers.qtriggeredoscilloscope": ["QTriggeredOscilloscope"],
    "pyacq.viewers.qtimefreq": ["QTimeFreq", "TimeFreqWorker"],
    "pyacq.viewers.imageviewer": ["ImageViewer"],
    "pyacq.viewers.qdigitaloscilloscope": ["QDigitalOscilloscope"],
    "pyacq.viewers.qoscilloscopemultiplot": ["QOscilloscopeMultiPlot"],
    "pyacq.rec": ["RawRecorder", "AviRecorder", "HDF5Recorder"],
    "pyacq.rec.rawrecorder": ["RawRecorder"],
    "pyacq.rec.avirecorder": ["AviRecorder"],
}

#: Each module of the flat pyacq.core of before, and the module it is now.
MOVED_MODULES = {
    "pyacq.core.manager": "pyacq.core.distributed.manager",
    "pyacq.core.host": "pyacq.core.distributed.host",
    "pyacq.core.nodegroup": "pyacq.core.distributed.nodegroup",
    "pyacq.core.leftover_cleaner": "pyacq.core.distributed._leftover_cleaner",
    "pyacq.core.process_logging": "pyacq.core.distributed._process_logging",
    "pyacq.core.registry": "pyacq.core.plugins.registry",
    "pyacq.core.hookspecs": "pyacq.core.plugins.hookspecs",
    "pyacq.core.streamrelay": "pyacq.core.streamtools.streamrelay",
    "pyacq.core.streamconverter": "pyacq.core.streamtools.streamconverter",
    "pyacq.core.channelsplitter": "pyacq.core.streamtools.channelsplitter",
    "pyacq.core.chunkresizer": "pyacq.core.streamtools.chunkresizer",
    "pyacq.core.inputpoller": "pyacq.core.streamtools.inputpoller",
    "pyacq.core.qtpollers": "pyacq.core.streamtools.qtpollers",
    "pyacq.core.lazy_exports": "pyacq.core._lazy_exports",
    "pyacq.core.node_configure": "pyacq.core._node_configure",
}

#: Modules of the flat pyacq.core that stayed where they were.
UNMOVED_MODULES = ["pyacq.core.node", "pyacq.core.node_thread", "pyacq.core.widgetnode",
                   "pyacq.core.tools", "pyacq.core.qtcompat"]

DOCUMENTED_NAMES = [(module, name) for module, names in DOCUMENTED.items() for name in names]


@pytest.mark.parametrize(("module", "name"), DOCUMENTED_NAMES,
                         ids=[f"{m}.{n}" for m, n in DOCUMENTED_NAMES])
def test_documented_name_resolves(module, name):
    """``from <module> import <name>`` works for every name of the documentation's tables."""
    value = getattr(importlib.import_module(module), name)
    assert value is not None


@pytest.mark.parametrize("package", ["pyacq", "pyacq.core", "pyacq.devices", "pyacq.dsp",
                                     "pyacq.viewers", "pyacq.rec"])
def test_package_names_are_the_objects_of_their_modules(package):
    """A name that a package and one of its documented modules both offer is one object
    (``pyacq.core.Manager is pyacq.core.manager.Manager``, ``pyacq.devices.PyAudio is
    pyacq.devices.audio_pyaudio.PyAudio``): the package re-exports, it does not copy."""
    prefix = package + "."
    pairs = [(module, name) for module, names in DOCUMENTED.items()
             if module.startswith(prefix) and module.count(".") == package.count(".") + 1
             for name in names if name in DOCUMENTED[package]]
    assert pairs
    for module, name in pairs:
        assert getattr(importlib.import_module(package), name) is \
            getattr(importlib.import_module(module), name), f"{package}.{name} vs {module}.{name}"


@pytest.mark.parametrize(("old", "new"), MOVED_MODULES.items())
def test_old_flat_core_path_is_the_moved_module(old, new):
    """Importing a module by its path in the flat pyacq.core of before gives the module of
    its new folder itself: every name (private ones too) and every module-level state is
    shared, whichever path is imported first."""
    assert importlib.import_module(old) is importlib.import_module(new)
    parent, _, child = old.rpartition(".")
    assert getattr(importlib.import_module(parent), child) is importlib.import_module(new)


@pytest.mark.parametrize("module", UNMOVED_MODULES)
def test_unmoved_core_modules_keep_their_path(module):
    """The node model (node, node_thread, widgetnode), the pyacq 2.0 ``tools`` namespace and
    the ``qtcompat`` opt-in stay at the top of pyacq.core, under their own names."""
    assert importlib.import_module(module).__name__ == module


def test_old_path_imported_first_in_a_fresh_process(run_python):
    """In a fresh process, importing the old path first, then the new one, still gives one
    module (and one class): no second copy of the module is executed."""
    result = run_python("""
        import pyacq.core.registry as old
        from pyacq.core.plugins import registry as new
        from pyacq.core.chunkresizer import ChunkResizer
        from pyacq.core.streamtools.chunkresizer import ChunkResizer as moved
        assert old is new and ChunkResizer is moved
        print("ok")
    """)
    assert result.stdout.strip() == "ok", result.stdout + result.stderr


def test_python_m_pyacq_core_host_runs_the_host_command(run_python):
    """``python -m pyacq.core.host`` (the Host module's documented command) still runs the
    Host command line: its help names the ``pyacq host`` program."""
    result = run_python("""
        import subprocess, sys
        done = subprocess.run([sys.executable, "-m", "pyacq.core.host", "--help"],
                              capture_output=True, text=True, timeout=60)
        print(done.returncode, done.stdout.splitlines()[0] if done.stdout else done.stderr)
    """)
    assert result.stdout.strip().startswith("0 usage: pyacq host"), result.stdout + result.stderr


def test_node_type_entry_points_name_the_moved_modules():
    """The core's node types are installed with entry points naming their modules in
    pyacq.core.streamtools, and load as the same classes as the old paths."""
    from importlib.metadata import entry_points

    from pyacq.core import registry
    values = {ep.name: ep.value for ep in entry_points(group="pyacq.nodes")
              if ep.name in ("StreamConverter", "ChannelSplitter", "ChunkResizer")}
    assert values == {
        "StreamConverter": "pyacq.core.streamtools.streamconverter:StreamConverter",
        "ChannelSplitter": "pyacq.core.streamtools.channelsplitter:ChannelSplitter",
        "ChunkResizer": "pyacq.core.streamtools.chunkresizer:ChunkResizer",
    }
    from pyacq.core.streamconverter import StreamConverter
    assert registry.get_node_type("StreamConverter") is StreamConverter
