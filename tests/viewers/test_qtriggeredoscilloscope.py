"""QTriggeredOscilloscope offscreen: epochs overlaid, aligned on the threshold crossing."""
import numpy as np
from pyacq.viewers import QTriggeredOscilloscope

SR = 1000.0
RED = "#ff0000"


def test_epochs_are_aligned_on_the_trigger(qapp, closing, vt):
    """With a 5 Hz sine and a rising threshold at 0.5, every epoch crosses 0.5 at t = 0 and follows sin(pi/6 + 2 pi 5 t) before and after: the overlaid curves pass through exactly those pixels."""
    source = vt.make_source(2, SR)
    closing(source)
    viewer = QTriggeredOscilloscope(name="trig")
    closing(viewer)
    viewer.configure(with_user_dialog=True)
    viewer.input.connect(source)
    viewer.initialize()
    viewer.resize(500, 300)
    viewer.show()
    viewer.trigger.params["threshold"] = 0.5
    viewer.trigger.params["front"] = "+"
    viewer.trigger.params["debounce_mode"] = "after-stable"
    viewer.trigger.params["debounce_time"] = 0.01
    viewer.triggeraccumulator.params["stack_size"] = 3
    viewer.triggeraccumulator.params["left_sweep"] = -0.05
    viewer.triggeraccumulator.params["right_sweep"] = 0.1
    viewer.params["ylim_min"], viewer.params["ylim_max"] = -1.5, 1.5
    viewer.by_channel_params["Signal0", "color"] = RED
    viewer.by_channel_params["Signal1", "visible"] = False
    viewer.start()
    n = 3000
    data = np.zeros((n, 2), dtype="float32")
    data[:, 0] = np.sin(2 * np.pi * 5.0 * np.arange(n) / SR)
    vt.send_in_chunks(source, data, 100)
    vt.wait_until(qapp, lambda: viewer.triggeraccumulator.total_trig >= 10, message="10 epochs")
    viewer.refresh()
    mask = vt.color_mask(vt.grab_rgb(viewer), RED)

    def rows_at(t):
        column, _ = vt.view_to_widget(viewer, viewer.plot, t, 0.0)
        return np.flatnonzero(mask[:, column - 1:column + 2].any(axis=1))

    for t in (0.0, 0.05, -0.04):
        value = np.sin(np.pi / 6 + 2 * np.pi * 5.0 * t)
        expected = vt.view_to_widget(viewer, viewer.plot, t, value)[1]
        rows = rows_at(t)
        assert rows.size and np.all(np.abs(rows - expected) <= 4), (t, rows, expected)
    # only the first crossing, 17 ms into the stream, has no 50 ms of signal before it
    assert viewer.triggeraccumulator.missed_trig == 1
