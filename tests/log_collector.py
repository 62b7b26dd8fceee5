"""A logging handler for tests that keeps the records it handles."""
import logging


class Collector(logging.Handler):
    """Keeps every record it handles."""

    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)

    def messages(self):
        """The formatted message of every record kept so far."""
        return [r.getMessage() for r in list(self.records)]
