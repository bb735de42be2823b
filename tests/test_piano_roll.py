"""The piano-roll editor: the note document and its undo commands, the custom-painted roll driven in musical
coordinates (point_at), MIDI and WAV files, silent playback, and composing with a tiny RNN-RBM through the
engine (generate, continue, re-harmonise, variations), each result one undo step."""
from __future__ import annotations

import math
import subprocess
import sys
import wave

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QToolBar

from studio.audio import SAMPLE_RATE, TAIL_S
from studio.documents.notes import (AddNote, Grid, Note, NoteDocument, grid_for_model, notes_to_roll,
                                    roll_to_notes)
from studio.widgets.piano_roll import PianoRoll
from windows import window_fixture

LEFT = Qt.MouseButton.LeftButton
SHIFT, CTRL = Qt.KeyboardModifier.ShiftModifier, Qt.KeyboardModifier.ControlModifier
TINY = {"n_visible": 88, "n_hidden": 8, "n_recurrent": 8}


# ----- the document -----

def doc_with(*notes: Note) -> NoteDocument:
    doc = NoteDocument()
    for n in notes:
        doc.push(AddNote(doc, n))
    return doc


def test_a_document_converts_to_a_model_roll_and_back_on_its_grid():
    notes = [Note(0.0, 1.0, 60), Note(0.5, 0.75, 64), Note(2.0, 4.0, 21), Note(1.0, 2.0, 120)]
    grid = Grid(21, 108, 4.0)
    roll = notes_to_roll(notes, grid, 120.0)
    assert roll.shape == (16, 88) and roll.dtype == np.float32
    assert roll[:, 60 - 21].tolist() == [1] * 4 + [0] * 12 and roll[2, 64 - 21] == 1 and roll[3, 64 - 21] == 0
    back = roll_to_notes(roll, grid, 120.0, first_frame=8)  # frames from beat 2 on
    assert back == sorted([Note(2.0, 3.0, 60), Note(2.5, 2.75, 64), Note(4.0, 6.0, 21)])  # 120 is out of range
    # a grid of seconds follows the tempo: 0.25 s frames at 60 bpm are quarter-beat frames
    assert notes_to_roll([Note(0.0, 1.0, 60)], Grid(60, 71, None, 0.25), 60.0).shape == (4, 12)


def test_the_grid_of_a_model_comes_from_its_training_data():
    assert grid_for_model(None) == Grid(21, 108, 4.0)  # untrained: sixteenths, 88 keys
    assert grid_for_model({"config": {"n_visible": 12}}) == Grid(21, 32, 4.0)
    notts = {"config": {"n_visible": 88}, "data": {"spec": {"name": "nottingham"}}}
    assert grid_for_model(notts).steps_per_beat == 2.0
    assert grid_for_model({"config": {"n_visible": 88}, "data": {"spec": {"name": "jsb_chorales"}}}).steps_per_beat == 1
    folder = {"config": {"n_visible": 40}, "data": {"spec": {"name": "midi_folder", "lo": 48,
                                                             "steps_per_beat": "sixteenth"}}}
    assert grid_for_model(folder) == Grid(48, 87, 4.0)
    timed = grid_for_model({"config": {"n_visible": 88}, "data": {"spec": {"name": "midi_folder", "dt": 0.25}}})
    assert timed.dt == 0.25 and timed.frames_per_beat(120.0) == 2.0


# ----- the roll, driven in domain coordinates -----

@pytest.fixture
def roll(qtbot):
    doc = NoteDocument()
    r = PianoRoll(doc)
    qtbot.addWidget(r)
    r.resize(900, 520)
    r.show()
    r.center_on(64)
    return r


def drag(qtbot, widget, a, b, modifier=Qt.KeyboardModifier.NoModifier):
    qtbot.mousePress(widget, LEFT, modifier, a)
    qtbot.mouseMove(widget, b)
    qtbot.mouseRelease(widget, LEFT, modifier, b)


def test_coordinates_map_pitches_and_beats_both_ways(roll):
    for pitch, beat in ((60, 0.0), (64, 2.25), (71, 7.5)):
        p = roll.point_at(pitch, beat)
        assert roll.pitch_at(p.y()) == pitch and roll.time_at(p.x()) == pytest.approx(beat, abs=0.02)
    roll.zoom_time(2.0)
    roll.zoom_pitch(1.5)
    p = roll.point_at(62, 3.0)
    assert roll.pitch_at(p.y()) == 62 and roll.time_at(p.x()) == pytest.approx(3.0, abs=0.02)
    roll.set_view(x0=2.0)
    assert roll.time_at(roll.point_at(62, 3.0).x()) == pytest.approx(3.0, abs=0.02)


def test_drawing_a_note_by_dragging_snaps_to_the_grid_and_undoes(qtbot, roll):
    doc = roll.doc
    drag(qtbot, roll, roll.point_at(60, 1.05), roll.point_at(60, 2.9))
    assert doc.notes == [Note(1.0, 3.0, 60, 80)]
    qtbot.mouseClick(roll, LEFT, pos=roll.point_at(67, 5.0))  # a click on empty space draws nothing
    assert len(doc.notes) == 1 and doc.selection == []
    roll.snap_on = False
    drag(qtbot, roll, roll.point_at(62, 4.0), roll.point_at(62, 5.5))
    off_grid = [n for n in doc.notes if n.pitch == 62][0]
    assert off_grid.end - off_grid.start == pytest.approx(1.5, abs=0.03)
    assert doc.undo_stack.count() == 2
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert doc.notes == []
    doc.undo_stack.redo()
    assert doc.notes == [Note(1.0, 3.0, 60, 80)]


def test_click_and_rubber_band_select(qtbot, roll):
    a, b, c = Note(0.0, 1.0, 60), Note(1.0, 2.0, 62), Note(4.0, 5.0, 64)
    doc = roll.doc
    for n in (a, b, c):
        doc.push(AddNote(doc, n))
    qtbot.mouseClick(roll, LEFT, pos=roll.point_at(62, 1.5))
    assert doc.selection == [b]
    qtbot.mouseClick(roll, LEFT, CTRL, roll.point_at(64, 4.5))  # Ctrl toggles
    assert doc.selection == [b, c]
    qtbot.mouseClick(roll, LEFT, CTRL, roll.point_at(62, 1.5))
    assert doc.selection == [c]
    drag(qtbot, roll, roll.point_at(63, 0.1), roll.point_at(59, 1.5), SHIFT)
    assert doc.selection == [a, b]
    assert doc.notes == [a, b, c]  # selecting changes no note
    assert doc.undo_stack.count() == 3


def test_moving_resizing_and_deleting_the_selection_undo_exactly(qtbot, roll):
    a, b = Note(1.0, 2.0, 60, 70), Note(1.0, 1.5, 64, 90)
    doc = roll.doc
    for n in (a, b):
        doc.push(AddNote(doc, n))
    doc.select([a, b])
    drag(qtbot, roll, roll.point_at(60, 1.3), roll.point_at(62, 2.3))  # grab a, both move
    assert doc.notes == sorted([Note(2.0, 3.0, 62, 70), Note(2.0, 2.5, 66, 90)])
    assert doc.selection == doc.notes
    # the right edge resizes (every selected note by the same amount)
    drag(qtbot, roll, roll.point_at(62, 2.96), roll.point_at(62, 4.0))
    assert doc.notes == sorted([Note(2.0, 4.0, 62, 70), Note(2.0, 3.5, 66, 90)])
    qtbot.keyClick(roll, Qt.Key.Key_Delete)
    assert doc.notes == []
    for expected in ([Note(2.0, 4.0, 62, 70), Note(2.0, 3.5, 66, 90)], [Note(2.0, 3.0, 62, 70), Note(2.0, 2.5, 66, 90)],
                     [a, b]):
        doc.undo_stack.undo()
        assert doc.notes == sorted(expected)
    doc.undo_stack.redo()
    doc.select([Note(2.0, 3.0, 62, 70)])
    qtbot.keyClick(roll, Qt.Key.Key_Backspace)
    assert doc.notes == [Note(2.0, 2.5, 66, 90)]


def test_arrow_keys_transpose_and_shift_moves_an_octave(qtbot, roll):
    n = Note(0.0, 1.0, 60)
    doc = roll.doc
    doc.push(AddNote(doc, n))
    qtbot.keyClick(roll, Qt.Key.Key_Up)
    assert [x.pitch for x in doc.notes] == [61]
    qtbot.keyClick(roll, Qt.Key.Key_Up, SHIFT)
    assert [x.pitch for x in doc.notes] == [73]
    qtbot.keyClick(roll, Qt.Key.Key_Down)
    assert [x.pitch for x in doc.notes] == [72]
    qtbot.keyClick(roll, Qt.Key.Key_Right)  # one grid step later
    assert doc.notes == [Note(0.25, 1.25, 72)]
    for start, pitch in ((0.0, 72), (0.0, 73), (0.0, 61), (0.0, 60)):
        doc.undo_stack.undo()
        assert (doc.notes[0].start, doc.notes[0].pitch) == (start, pitch)
    assert doc.notes == [n]


def test_the_velocity_lane_drags_velocities(qtbot, roll):
    a, b, c = Note(0.0, 1.0, 60, 100), Note(1.0, 2.0, 62, 80), Note(2.0, 3.0, 64, 60)
    doc = roll.doc
    for n in (a, b, c):
        doc.push(AddNote(doc, n))
    doc.select([])
    drag(qtbot, roll, roll.velocity_point(b), roll.velocity_point(b, 30))
    assert [n.velocity for n in doc.notes][0] == 100 and abs(doc.notes[1].velocity - 30) <= 2
    assert doc.notes[2].velocity == 60
    # a selected note's stem moves every selected note by the same amount
    doc.select([doc.notes[0], doc.notes[2]])
    drag(qtbot, roll, roll.velocity_point(doc.notes[0]), roll.velocity_point(doc.notes[0], 110))
    v = [n.velocity for n in doc.notes]
    assert abs(v[0] - 110) <= 2 and v[2] - 60 == v[0] - 100 and abs(v[1] - 30) <= 2
    doc.undo_stack.undo()
    doc.undo_stack.undo()
    assert [n.velocity for n in doc.notes] == [100, 80, 60]


def test_copy_paste_at_the_playhead_and_the_ruler(qtbot, roll):
    doc = roll.doc
    for n in (Note(1.0, 2.0, 60), Note(1.5, 2.0, 64)):
        doc.push(AddNote(doc, n))
    qtbot.keyClick(roll, Qt.Key.Key_A, CTRL)
    qtbot.keyClick(roll, Qt.Key.Key_C, CTRL)
    moved = []
    roll.playhead_moved.connect(moved.append)
    ruler = roll.point_at(roll.top, 6.1)
    ruler.setY(5)
    qtbot.mouseClick(roll, LEFT, pos=ruler)  # the ruler moves the playhead (to the grid step)
    assert moved == [6.0] and roll.playhead == 6.0
    qtbot.keyClick(roll, Qt.Key.Key_V, CTRL)
    assert doc.notes[2:] == [Note(6.0, 7.0, 60), Note(6.5, 7.0, 64)] and doc.selection == doc.notes[2:]
    doc.undo_stack.undo()
    assert len(doc.notes) == 2
    # dragging along the ruler sets the loop region
    a, b = roll.point_at(roll.top, 2.0), roll.point_at(roll.top, 4.0)
    a.setY(5)
    b.setY(5)
    drag(qtbot, roll, a, b)
    assert roll.loop == (2.0, 4.0)


def test_zoom_and_scroll_keep_the_coordinates_consistent(qtbot, roll):
    from PySide6.QtGui import QWheelEvent

    before = roll.px_per_beat
    pos = QPointF(roll.point_at(60, 4.0))
    event = QWheelEvent(pos, roll.mapToGlobal(pos), QPointF(0, 0).toPoint(), QPointF(0, 120).toPoint(),
                        Qt.MouseButton.NoButton, CTRL, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(roll, event)
    assert roll.px_per_beat > before
    assert roll.time_at(pos.x()) == pytest.approx(4.0, abs=0.02)  # zoomed about the mouse
    top = roll.top
    event = QWheelEvent(pos, roll.mapToGlobal(pos), QPointF(0, 0).toPoint(), QPointF(0, -120).toPoint(),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(roll, event)
    assert roll.top == top - 3
    drag(qtbot, roll, roll.point_at(55, 1.0), roll.point_at(55, 2.0))
    assert roll.doc.notes == [Note(1.0, 2.0, 55)]


# ----- the panel in the window -----

@pytest.fixture
def window(qtbot, tmp_path):
    for w in window_fixture(qtbot, tmp_path):
        w.workspace.setCurrentWidget(w.piano_panel)
        yield w


def click(qtbot, w, name):
    action = w.findChild(QAction, name)
    assert action is not None and action.isEnabled(), name
    bar = w.findChild(QToolBar, name.split("_")[0] + "_bar")
    qtbot.mouseClick(bar.widgetForAction(action), LEFT)


def write_test_midi(path, bpm=90.0, ts=(3, 4)):
    from engine.music.midi_io import Note as MidiNote, TempoMap, write_midi

    tm = TempoMap.constant(bpm)
    rows = [(60, 0.0, 1.0, 100), (64, 1.0, 1.5, 70), (67, 1.5, 3.0, 50), (48, 0.0, 3.0, 90), (72, 3.25, 3.5, 127)]
    notes = [MidiNote(p, tm.seconds_at(s), tm.seconds_at(e), v) for p, s, e, v in rows]
    write_midi(notes, path, tempo_map=tm, time_signature=ts)
    return sorted(Note(s, e, p, v) for p, s, e, v in rows)


def test_midi_opens_saves_and_reopens_with_the_same_notes(qtbot, window, tmp_path):
    from engine.music.midi_io import read_midi

    panel = window.piano_panel
    expected = write_test_midi(tmp_path / "in.mid")
    assert panel.open_midi(str(tmp_path / "in.mid"))
    doc = panel.doc
    assert doc.notes == expected and doc.bpm == pytest.approx(90.0) and doc.time_signature == (3, 4)
    assert panel.tempo.value() == pytest.approx(90.0) and panel.ts_num.value() == 3
    out = panel.save_midi(str(tmp_path / "out.mid"))
    score = read_midi(out)
    assert doc.state_of_score(score) == (expected, pytest.approx(90.0), (3, 4))
    # opening is one undoable step; a dropped file opens too
    doc.undo_stack.undo()
    assert doc.notes == [] and doc.bpm == 120.0
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(out))])
    enter = QDragEnterEvent(QPoint(50, 50), Qt.DropAction.CopyAction, mime, LEFT, Qt.KeyboardModifier.NoModifier)
    enter.ignore()
    panel.dragEnterEvent(enter)
    assert enter.isAccepted()
    panel.dropEvent(QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, LEFT, Qt.KeyboardModifier.NoModifier))
    assert doc.notes == expected
    other = QMimeData()
    other.setUrls([QUrl.fromLocalFile(str(tmp_path / "model.json"))])  # not MIDI: left to the window
    enter = QDragEnterEvent(QPoint(50, 50), Qt.DropAction.CopyAction, other, LEFT, Qt.KeyboardModifier.NoModifier)
    panel.dragEnterEvent(enter)
    assert not enter.isAccepted()


def test_a_malformed_midi_file_shows_one_line_and_changes_nothing(qtbot, window, tmp_path):
    from engine.music.midi_io import MidiError, read_midi

    panel = window.piano_panel
    doc = panel.doc
    doc.push(AddNote(doc, Note(0.0, 1.0, 60)))
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\x10\x00\x00\x90")
    with pytest.raises(MidiError) as err:
        read_midi(bad)
    assert not panel.open_midi(str(bad))
    message = str(err.value)
    assert "\n" not in message and panel.status.text() == message
    assert window.notification.message() == message
    assert doc.notes == [Note(0.0, 1.0, 60)] and doc.undo_stack.count() == 1 and doc.bpm == 120.0


def test_wav_export_writes_the_whole_piece(qtbot, window, tmp_path):
    panel = window.piano_panel
    doc = panel.doc
    for n in (Note(0.0, 2.0, 60, 100), Note(2.0, 4.0, 64, 30), Note(4.0, 8.0, 67, 127)):
        doc.push(AddNote(doc, n))
    panel.tempo.setValue(90.0)  # the file follows the tempo
    assert doc.bpm == 90.0
    path = panel.export_wav(str(tmp_path / "piece.wav"))
    with wave.open(path) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, SAMPLE_RATE)
        n = w.getnframes()
        pcm = np.frombuffer(w.readframes(n), "<i2")
    assert n == math.ceil((8 * 60 / 90 + TAIL_S) * SAMPLE_RATE)
    second = SAMPLE_RATE
    loud = [np.abs(pcm[k * second // 3:(k + 1) * second // 3]).max() for k in range(int(n / second * 3))]
    assert min(loud) > 100  # sound all the way to the last note's end
    assert np.abs(pcm[-20:]).max() < 50  # and it fades out


def test_playback_without_a_sound_device_is_silent_and_moves_the_playhead(qtbot, window, monkeypatch):
    import studio.audio as audio

    monkeypatch.setattr(audio, "_audio_output", lambda: None)
    panel = window.piano_panel
    doc = panel.doc
    doc.push(AddNote(doc, Note(0.0, 4.0, 60)))
    panel.tempo.setValue(240.0)
    positions = []
    panel.player.position_changed.connect(positions.append)
    click(qtbot, window, "piano_play")
    assert panel.status.text() == audio.SILENT_MESSAGE
    assert window.notification.message() == audio.SILENT_MESSAGE
    qtbot.waitUntil(lambda: panel.roll.playhead > 1.0, timeout=5_000)
    assert panel.buttons["stop"].isEnabled()
    # round the loop
    panel.roll.set_loop((1.0, 2.0))
    assert panel.buttons["loop"].isChecked()
    panel.play()
    positions.clear()
    qtbot.waitUntil(lambda: any(b < a for a, b in zip(positions, positions[1:])), timeout=5_000)
    assert all(1.0 <= p < 2.0 + 1e-9 for p in positions)
    click(qtbot, window, "piano_stop")
    assert not panel.player.playing
    # with no loop, playback ends at the end of the piece
    panel.roll.set_loop(None)
    panel.roll.set_playhead(3.5)
    panel.play()
    qtbot.waitUntil(lambda: not panel.player.playing, timeout=5_000)
    assert panel.roll.playhead >= 4.0


def test_quantise_snaps_the_selection_to_the_grid(qtbot, window):
    panel = window.piano_panel
    doc = panel.doc
    for n in (Note(0.1, 0.9, 60), Note(1.13, 1.2, 62), Note(2.6, 3.4, 64)):
        doc.push(AddNote(doc, n))
    doc.select(doc.notes[:2])
    panel.grid.setCurrentIndex(panel.grid.findText("1/8"))
    click(qtbot, window, "edit_quantise")
    assert doc.notes == [Note(0.0, 1.0, 60), Note(1.0, 1.5, 62), Note(2.6, 3.4, 64)]
    doc.undo_stack.undo()
    assert doc.notes == [Note(0.1, 0.9, 60), Note(1.13, 1.2, 62), Note(2.6, 3.4, 64)]


# ----- composing with a model -----

def new_music_model(qtbot, w, name="tiny"):
    w.create_model("rnnrbm", dict(TINY), name)
    qtbot.waitUntil(lambda: w.library.current == name, timeout=10_000)
    panel = w.piano_panel
    panel.bars.setValue(1)
    panel.gibbs.setValue(2)
    return panel


def run_and_wait(qtbot, w, action):
    panel = w.piano_panel
    with qtbot.waitSignal(panel.result_applied, timeout=30_000):
        click(qtbot, w, action)
    assert panel.handle is None


def on_grid(notes, step=0.25):
    return all(abs(x / step - round(x / step)) < 1e-6 for n in notes for x in (n.start, n.end))


def test_a_music_model_opens_the_piano_roll_and_generate_fills_it_in_one_undo_step(qtbot, window):
    window.workspace.setCurrentWidget(window.sampling_panel)
    panel = new_music_model(qtbot, window)
    assert window.workspace.currentWidget() is panel
    assert "sixteenth" in panel.info.text()
    doc = panel.doc
    frames = []
    window.bridge.frame_ready.connect(lambda e: frames.append(e) if e.label == "roll" else None)
    panel.roll.set_playhead(4.0)
    run_and_wait(qtbot, window, "compose_generate")
    assert [f.index for f in frames] == list(range(16))  # one bar of sixteenths, frame by frame
    assert len(doc.notes) > 10 and on_grid(doc.notes)
    assert all(4.0 <= n.start and n.end <= 8.0 and 21 <= n.pitch <= 108 for n in doc.notes)
    made = list(doc.notes)
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert doc.notes == []
    doc.undo_stack.redo()
    assert doc.notes == made


def test_a_running_job_shows_its_notes_live_and_stopping_applies_nothing(qtbot, window):
    panel = new_music_model(qtbot, window)
    doc = panel.doc
    doc.push(AddNote(doc, Note(0.0, 1.0, 60)))
    panel.bars.setValue(64)
    panel.gibbs.setValue(200)
    click(qtbot, window, "compose_continue")  # from the playhead at 0: generates from nothing
    qtbot.waitUntil(lambda: len(panel.roll.preview) > 0, timeout=10_000)
    assert panel.handle is not None and panel.roll.region == (0.0, 256.0, 21, 108)
    assert panel.roll.faded == {Note(0.0, 1.0, 60)}  # the note the result would replace
    click(qtbot, window, "compose_cancel")
    qtbot.waitUntil(lambda: panel.handle is None, timeout=10_000)
    assert panel.roll.preview == [] and panel.roll.region is None
    assert doc.notes == [Note(0.0, 1.0, 60)] and doc.undo_stack.count() == 1
    assert "nothing was applied" in panel.status.text()


def test_continue_keeps_the_primer_and_fills_the_bars_after_the_playhead(qtbot, window):
    panel = new_music_model(qtbot, window)
    doc = panel.doc
    primer = [Note(0.0, 1.0, 60), Note(1.0, 2.0, 64), Note(2.0, 4.0, 67), Note(3.0, 4.5, 48)]
    later = Note(5.0, 6.0, 70)  # inside the bar being continued: replaced
    for n in primer + [later]:
        doc.push(AddNote(doc, n))
    before = list(doc.notes)
    panel.roll.set_playhead(4.0)
    run_and_wait(qtbot, window, "compose_continue")
    new = [n for n in doc.notes if n not in primer]
    assert all(n in doc.notes for n in primer) and later not in doc.notes
    assert new and all(4.0 <= n.start < 8.0 for n in new) and on_grid(new)
    doc.undo_stack.undo()
    assert doc.notes == before


def test_reharmonise_redraws_the_selection_and_keeps_every_other_note(qtbot, window):
    panel = new_music_model(qtbot, window)
    doc = panel.doc
    melody = [Note(0.0, 2.0, 72), Note(2.0, 4.0, 74)]
    inner = Note(2.0, 3.0, 62)  # inside the freed rectangle but not selected: clamped
    chords = [Note(0.0, 2.0, p) for p in (60, 64, 67)] + [Note(2.5, 4.0, 65)]
    for n in melody + [inner] + chords:
        doc.push(AddNote(doc, n))
    before = list(doc.notes)
    doc.select(chords)
    run_and_wait(qtbot, window, "compose_reharmonise")
    for n in melody + [inner]:
        assert n in doc.notes
    new = [n for n in doc.notes if n not in melody + [inner]]
    assert new and on_grid(new)
    # the rectangle of the selection, widened to an octave: beats 0-4, pitches 58-70
    assert all(0.0 <= n.start and n.end <= 4.0 and 58 <= n.pitch <= 70 for n in new)
    assert not any(n.pitch == 62 and n.start < 3.0 and n.end > 2.0 for n in new)
    assert doc.undo_stack.count() == len(before) + 1
    doc.undo_stack.undo()
    assert doc.notes == before


def test_variations_are_auditioned_and_one_is_kept(qtbot, window):
    panel = new_music_model(qtbot, window)
    doc = panel.doc
    panel.n_variations.setValue(3)
    panel.seed.setValue(5)
    run_and_wait(qtbot, window, "compose_generate")
    qtbot.waitUntil(lambda: len(panel._variations) == 3, timeout=30_000)
    assert panel.variation.count() == 3 and panel.variation_action.isVisible()
    first = list(doc.notes)
    assert first == panel._variations[0] and "seed 5" in doc.undo_stack.undoText()
    panel.variation.setCurrentIndex(2)
    assert doc.notes == panel._variations[2] != first and "seed 7" in doc.undo_stack.undoText()
    assert doc.undo_stack.count() == 1  # auditioning replaces, it does not pile up
    click(qtbot, window, "compose_keep")
    assert not panel.variation_action.isVisible()
    doc.undo_stack.undo()
    assert doc.notes == []


def test_new_model_dialog_gives_music_models_the_88_keys(qtbot):
    from studio.dialogs.new_model import NewModelDialog

    d = NewModelDialog()
    qtbot.addWidget(d)
    assert d.request()["config"]["n_visible"] == 784  # an RBM of MNIST digits
    d.family.setCurrentIndex(d.family.findData("rnnrbm"))
    assert d.request()["config"]["n_visible"] == 88 and d.preset.currentText().startswith("Piano roll")
    d.family.setCurrentIndex(d.family.findData("note_rnn"))
    assert d.request()["config"]["n_visible"] == 88


def test_the_studio_side_loads_no_torch():
    code = ("import sys; import studio.panels.piano_roll_panel, studio.widgets.piano_roll, studio.audio; "
            "print([m for m in ('torch', 'PySide6.QtMultimedia') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
