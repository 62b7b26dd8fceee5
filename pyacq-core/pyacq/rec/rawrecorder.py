"""RawRecorder: each stream to a raw binary file, described in JSON.

Layout of a recording directory::

    stream_properties.json   {stream name: description} (see pyacq.rec.description)
    annotations.json         {"annotations": {...}, "gaps": {name: [...]}, "segments": {name: [...]}}
    <stream name>.raw        samples in C order, native dtype, no header

The raw files open in any tool given the JSON description (numpy.memmap,
neo's RawBinarySignalRawIO, MATLAB's fread); ``pyacq.rec.open_recording``
does it for you.
"""
import os

from .description import ANNOTATIONS_FILE, PROPERTIES_FILE, sample_nbytes, write_json_atomically
from .rawfile import RawStreamFile
from .streamrecorder import StreamRecorder


class RawRecorder(StreamRecorder):
    """Records each input stream to ``<dirname>/<name>.raw`` (see the module docstring).

    ``configure(streams=[...] or {name: stream}, autoconnect=True, dirname=...)``.
    """

    def _open_writers(self, descriptions):
        writers = {}
        try:
            for name, description in descriptions.items():
                description["file"] = f"{name}.raw"
                writers[name] = RawStreamFile(os.path.join(self.dirname, description["file"]),
                                              sample_nbytes(description))
        except OSError:
            for writer in writers.values():
                writer.close()
            raise
        return writers

    def _save_annotations(self):
        write_json_atomically(os.path.join(self.dirname, PROPERTIES_FILE),
                              {name: track.description for name, track in self.tracks.items()})
        write_json_atomically(os.path.join(self.dirname, ANNOTATIONS_FILE), {
            "annotations": self.annotations,
            "gaps": {name: track.gaps for name, track in self.tracks.items()},
            "segments": {name: track.segments for name, track in self.tracks.items()},
        })

    def _flush_writers(self):
        for track in self.tracks.values():
            track.writer.flush()

    def _close_writers(self):
        for track in self.tracks.values():
            track.writer.close()
