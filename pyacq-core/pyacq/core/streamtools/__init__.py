"""Stream tools: nodes that pass a stream on in another form, and pollers that read inputs.

:class:`~pyacq.core.streamtools.streamconverter.StreamConverter` (another protocol or transfer
mode), :class:`~pyacq.core.streamtools.channelsplitter.ChannelSplitter` (groups of channels on
several outputs) and :class:`~pyacq.core.streamtools.chunkresizer.ChunkResizer` (another chunk
size) are :class:`~pyacq.core.streamtools.streamrelay.StreamRelay` nodes.
:class:`~pyacq.core.streamtools.inputpoller.InputPoller` (a thread) and
:class:`~pyacq.core.streamtools.qtpollers.ThreadPollInput` / ``ThreadPollOutput`` (QThreads:
the only Qt here) read an input and hand on each chunk. They are built on the node model and
the streams, and serve nodes of every distribution without knowing any of them.

Users import them from :mod:`pyacq.core.tools` (pyacq 2.0's namespace for them) or
:mod:`pyacq.core`; the former paths ``pyacq.core.streamconverter``, ... are these modules.
"""
