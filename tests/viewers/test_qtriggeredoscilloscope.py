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


def run_sine_until_epochs(qapp, vt, viewer, source, n_epoch=3):
    """Start the viewer, send a 5 Hz sine and wait until ``n_epoch`` epochs were taken."""
    viewer.trigger.params["threshold"] = 0.5
    viewer.start()
    data = np.zeros((3000, 2), dtype="float32")
    data[:, 0] = np.sin(2 * np.pi * 5.0 * np.arange(len(data)) / SR)
    vt.send_in_chunks(source, data, 100)
    vt.wait_until(qapp, lambda: viewer.triggeraccumulator.total_trig >= n_epoch,
                  message=f"{n_epoch} epochs")
    viewer.stop()


def test_input_connected_before_configure(qapp, closing, vt):
    """Connecting the input before configure() works: the trigger and the accumulator exist
    from the viewer's creation, get the input at once, and take epochs once configured."""
    source = vt.make_source(2, SR)
    closing(source)
    viewer = QTriggeredOscilloscope(name="early")
    closing(viewer)
    viewer.input.connect(source)
    assert viewer.trigger.input.connected and viewer.triggeraccumulator.inputs["signals"].connected
    viewer.configure(with_user_dialog=False, max_xsize=1.0)
    viewer.initialize()
    run_sine_until_epochs(qapp, vt, viewer, source)


def test_configure_again_after_connecting(qapp, closing, vt):
    """configure() called again once the input is connected reconfigures the same trigger and
    accumulator, which stay connected to the input and keep their live parameters: no inner
    node is left behind, initialize() succeeds and epochs are taken with the new limits."""
    source = vt.make_source(2, SR)
    closing(source)
    viewer = QTriggeredOscilloscope(name="again")
    closing(viewer)
    viewer.configure(with_user_dialog=False)
    viewer.input.connect(source)
    trigger, accumulator = viewer.trigger, viewer.triggeraccumulator
    trigger.params["front"] = "-"
    viewer.configure(with_user_dialog=False, max_xsize=0.5, max_stack_size=4)
    assert viewer.trigger is trigger and viewer.triggeraccumulator is accumulator
    assert (accumulator.max_xsize, accumulator.max_stack_size) == (0.5, 4)
    assert trigger.params["front"] == "-"
    viewer.initialize()
    run_sine_until_epochs(qapp, vt, viewer, source)
    assert accumulator.stack.shape[0] == 4
