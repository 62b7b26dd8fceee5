"""Fixtures of the system tests: a private sound server for the examples that record audio.

``pulseaudio_server`` runs a private PulseAudio daemon (tests/pulse_daemon.py)
and yields the client environment (``PULSE_SERVER`` ...) to give to the
processes a test starts; nothing is changed in this process's environment.
"""
import pytest
from pulse_daemon import running_pulseaudio


@pytest.fixture(scope="module")
def pulseaudio_server(tmp_path_factory):
    """A private PulseAudio daemon (default source: a 440 Hz sine); yields the environment
    variables that point a client process at it."""
    with running_pulseaudio(tmp_path_factory.mktemp("pulse")) as env:
        yield env
