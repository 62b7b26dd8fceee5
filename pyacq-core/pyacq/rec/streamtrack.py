"""StreamTrack: where each received chunk of one stream goes in its file.

A stream index says where a chunk belongs in time; a file position says
where its samples are on disk. The track keeps the two in step and records
every place where they stop following each other:

* a *gap* (samples that never arrived) is recorded with its file position,
  length and stream index; for regularly sampled streams the file gets zeros
  in its place, so position and time stay aligned;
* a *segment* starts where the mapping restarts: the first chunk, the source
  restarting at index 0, or the recorder being started again after a stop.
"""


class StreamTrack:
    """Bookkeeping of one recorded stream; ``writer`` puts samples on disk.

    ``writer`` has ``write(data, index)``, ``fill(n_samples)`` (append zeros) and
    ``path``. ``on_change()`` is called after a gap or segment was added so the
    recorder saves them before writing the samples that follow.
    """

    def __init__(self, name, input_stream, description, writer, on_change):
        self.name = name
        self.input = input_stream
        self.description = description
        self.writer = writer
        self.on_change = on_change
        self.fills_gaps = description["gap_fill"] == "zeros"
        self.position = 0
        self.expected = None
        self.gaps = []
        self.segments = []
        self._restarts_seen = input_stream.restart_count
        self._next_reason = "recorder started"

    def resume(self):
        """The recorder starts (again): the next chunk opens a new segment."""
        self.expected = None
        self._restarts_seen = self.input.restart_count
        self._next_reason = "recorder started" if not self.segments else "recorder restarted"

    def record(self, index, data):
        """Write one chunk ending at stream index ``index``; record a gap or a new segment first."""
        n = len(data)
        start = index - n
        restarted = self.input.restart_count != self._restarts_seen
        if restarted:
            self._restarts_seen = self.input.restart_count
        if self.expected is None or restarted or start < self.expected:
            reason = self._next_reason if self.expected is None else "source restarted"
            self.segments.append({"position": self.position, "index": start, "reason": reason})
            if self.description["start_index"] is None:
                self.description["start_index"] = start
            self.on_change()
        elif start > self.expected:
            length = start - self.expected
            self.gaps.append({"position": self.position, "length": length, "index": self.expected})
            if self.fills_gaps:
                self.writer.fill(length)
                self.position += length
            self.on_change()
        self.writer.write(data, index)
        self.position += n
        self.expected = index
