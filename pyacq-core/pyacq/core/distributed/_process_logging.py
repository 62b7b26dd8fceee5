"""Log settings of the processes a Manager spawns (Manager, Host and NodeGroup processes)."""
import logging


def forward_stdio_at_any_level():
    """Let captured stdout/stderr lines through whatever the root logger's level.

    ProcessSpawner's children log what they print on the 'stdout' (INFO) and
    'stderr' (WARNING) loggers; with the default root level (WARNING) printed
    lines would be dropped, yet they must reach the Manager's log server.
    """
    logging.getLogger("stdout").setLevel(logging.INFO)
    logging.getLogger("stderr").setLevel(logging.WARNING)
