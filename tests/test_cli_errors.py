"""``psychcore train``'s error boundary: bad input refused before anything is created (exit 2),
failures marked in run.json (exit 1), resume refusing changed options, internal errors (exit 3)."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest
from numpy_backend import NumpyReadoutBackend

from psychcore import _plugins
from psychcore.cli import main

SIGN = f"{Path(__file__).parent / 'sign_task.py'}:Sign"


class NanBackend(NumpyReadoutBackend):
    """The NumPy double whose loss becomes NaN at its 13th step."""

    name = "numpy-nan"
    steps = 0

    def train_step(self, x, y, mask, noise=None):
        NanBackend.steps += 1
        loss = super().train_step(x, y, mask, noise)
        return float("nan") if NanBackend.steps >= 13 else loss


class BuggyBackend(NumpyReadoutBackend):
    name = "numpy-buggy"

    def train_step(self, x, y, mask, noise=None):
        raise AttributeError("'NoneType' object has no attribute 'grad'")


@pytest.fixture(autouse=True)
def backends(monkeypatch):
    reg = _plugins.registry().backends
    for cls in (NumpyReadoutBackend, NanBackend, BuggyBackend):
        monkeypatch.setitem(reg, cls.name, cls)
    NanBackend.steps = 0


def train(out, *extra, backend="numpy-readout"):
    return main(["train", SIGN, "--backend", backend, "-t", "N_batch=16", "--N-rec", "20",
                 "--learning-rate", "0.05", "--checkpoint-epoch", "10", "--no-progress",
                 "--iters", "320", "--out", str(out), *extra])


@pytest.mark.parametrize("option", ["--iters", "--loss-epoch", "--checkpoint-epoch", "--N-rec"])
@pytest.mark.parametrize("value", ["-5", "0"])
def test_non_positive_integers_are_refused_before_anything(tmp_path, capsys, option, value):
    assert train(tmp_path / "run", option, value) == 2
    err = capsys.readouterr().err
    assert f"psychcore: error: argument {option}: must be a positive integer; received {value}" \
        in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_out_naming_a_file_or_an_unwritable_directory_is_refused(tmp_path, capsys, monkeypatch):
    (tmp_path / "file").write_text("mine")
    assert train(tmp_path / "file") == 2
    assert f"run directory {tmp_path / 'file'} is a file" in capsys.readouterr().err
    assert train(tmp_path / "file" / "run") == 2
    assert f"{tmp_path / 'file'} is a file" in capsys.readouterr().err
    assert (tmp_path / "file").read_text() == "mine"

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr("psychcore._run.tempfile.mkstemp", refuse)
    assert train(tmp_path / "ro" / "run") == 2
    assert f"cannot write the run directory {tmp_path / 'ro' / 'run'}: {tmp_path} is not " \
           "writable (Permission denied)" in capsys.readouterr().err
    assert not (tmp_path / "ro").exists()


def test_resume_refuses_changed_options_naming_each(tmp_path, capsys):
    out = tmp_path / "run"
    assert train(out, "-t", "level=0.5", "--seed", "0") == 0
    before = (out / "run.json").read_text(), (out / "weights.npz").read_bytes()
    assert train(out, "--resume", "--N-rec", "24", "-t", "level=2", "--seed", "1",
                 "--learning-rate", "0.1") == 2
    err = capsys.readouterr().err
    assert err.startswith("psychcore: error: --resume: these options differ from the run's: "
                          "task level 2 (run: 0.5), N_rec 24 (run: 20), seed 1 (run: 0), "
                          "learning_rate 0.1 (run: 0.05)")
    assert ((out / "run.json").read_text(), (out / "weights.npz").read_bytes()) == before
    # options not given are the run's; the trial budget may change (the new total)
    assert main(["train", SIGN, "--out", str(out), "--resume", "--iters", "480",
                 "--no-progress"]) == 0
    info = json.loads((out / "run.json").read_text())
    assert info["epochs"] == 30 and info["task_params"]["level"] == 0.5


def test_diverging_training_fails_cleanly_keeping_the_last_good_checkpoint(tmp_path, capsys):
    out = tmp_path / "run"
    assert train(out, backend="numpy-nan") == 1
    err = capsys.readouterr().err
    assert err.startswith("psychcore: error: training diverged: the loss became nan at epoch "
                          "13; lower the learning rate")
    assert "Traceback" not in err and "(epoch 10) is kept" in err
    info = json.loads((out / "run.json").read_text())
    assert info["status"] == "failed" and info["error"].startswith("training diverged")
    assert not (out / "weights.npz").exists()
    assert json.loads((out / "checkpoint.json").read_text())["epoch"] == 10


def test_a_cutoff_without_an_accuracy_function_is_refused_before_training(tmp_path, capsys):
    source = tmp_path / "noacc.py"
    source.write_text(
        f"import sys\nsys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from sign_task import Sign\nfrom psychcore import Task\n"
        "class NoAccuracy(Sign):\n    accuracy_function = Task.accuracy_function\n")
    assert main(["train", f"{source}:NoAccuracy", "--backend", "numpy-readout", "-t",
                 "N_batch=16", "--performance-cutoff", "0.9", "--no-progress", "--out",
                 str(tmp_path / "run")]) == 2
    assert "task NoAccuracy has no accuracy_function" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_a_full_disk_keeps_the_previous_checkpoint(tmp_path, capsys, monkeypatch):
    import psychcore._checkpoint as ckpt

    real = ckpt.atomic_savez
    calls = {"n": 0}

    def savez(path, arrays, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, arrays, **kwargs)

    monkeypatch.setattr(ckpt, "atomic_savez", savez)
    out = tmp_path / "run"
    assert train(out) == 1
    err = capsys.readouterr().err
    assert f"could not write {out / 'checkpoint.npz'}: No space left on device; the previous " \
           "checkpoint is intact" in err and "Traceback" not in err
    assert json.loads((out / "run.json").read_text())["status"] == "failed"
    monkeypatch.setattr(ckpt, "atomic_savez", real)
    assert train(out, "--resume") == 0  # from the intact checkpoint of epoch 10


def test_internal_errors_show_the_traceback_and_exit_3(tmp_path, capsys, monkeypatch):
    assert train(tmp_path / "a", backend="numpy-buggy") == 3
    err = capsys.readouterr().err
    assert "Traceback" in err and "psychcore: internal error: AttributeError" in err
    assert "please report it" in err
    info = json.loads((tmp_path / "a" / "run.json").read_text())
    assert info["status"] == "failed" and "AttributeError" in info["error"]
    assert train(tmp_path / "b", "-s", "L2_rec=-1") == 2
    assert "Traceback" not in capsys.readouterr().err
    monkeypatch.setenv("PSYCHCORE_DEBUG", "1")
    assert train(tmp_path / "b", "-s", "L2_rec=-1") == 2
    assert "Traceback" in capsys.readouterr().err
    monkeypatch.delenv("PSYCHCORE_DEBUG")
    assert main(["--debug", "train", "NoSuchTask", "--out", str(tmp_path / "c")]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_help_documents_the_exit_codes(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for code in ("130", "143", "internal error", "--debug"):
        assert code in out


def test_an_existing_snapshot_file_is_found_before_the_first_step(tmp_path):
    from sign_task import Sign

    from psychcore import Model, ModelSpec

    model = Model(Sign(), ModelSpec(N_rec=8), NumpyReadoutBackend, seed=0)
    (tmp_path / "w_20.npz").write_bytes(b"mine")
    with pytest.raises(FileExistsError, match="w_20.npz"):
        model.train(Sign(), training_iters=16 * 30, save_training_weights_epoch=10,
                    training_weights_path=str(tmp_path / "w_"), verbosity=False)
    assert model.epoch == 0 and (tmp_path / "w_20.npz").read_bytes() == b"mine"
    with pytest.raises(FileNotFoundError, match="training_weights_path: directory .*nope"):
        model.train(Sign(), training_iters=16 * 30, training_weights_path=str(
            tmp_path / "nope" / "w_"), verbosity=False)
    with pytest.raises(FileNotFoundError, match="save_weights_path: directory .*nope"):
        model.train(Sign(), training_iters=16 * 30, verbosity=False,
                    save_weights_path=str(tmp_path / "nope" / "final"))
    assert model.epoch == 0


def test_a_short_run_prints_its_loss_and_the_cutoff_it_missed(tmp_path, capsys):
    """3 steps (fewer than --loss-epoch): the last step's loss, not "final loss n/a"."""
    assert train(tmp_path / "short", "--iters", "48", "--performance-cutoff", "1.01") == 0
    out = capsys.readouterr().out
    assert "finished: 3 steps, final loss " in out and "final loss n/a" not in out
    assert "performance cutoff 1.01 not reached" in out
    info = json.loads((tmp_path / "short" / "run.json").read_text())
    assert info["final_loss"] > 0
    assert info["performance_cutoff"] == {"value": 1.01, "reached": False, "epoch": None,
                                          "trials": None}


def test_without_matplotlib_the_training_plot_is_skipped_with_how_to_get_it(tmp_path, capsys,
                                                                          monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "matplotlib", None)  # import -> ImportError
    assert train(tmp_path / "bare") == 0
    out = capsys.readouterr().out
    assert ('training.png skipped: matplotlib is not installed (pip install '
            '"psychcore[analysis]"') in out and str(tmp_path / "bare") in out
    info = json.loads((tmp_path / "bare" / "run.json").read_text())
    assert info["plot"] is None and "matplotlib is not installed" in info["plot_skipped"]
    assert not (tmp_path / "bare" / "training.png").exists()


@pytest.mark.parametrize("command,missing,says", [
    ("report", "scipy", "psychcore report needs matplotlib and scipy"),
    ("spiking", "matplotlib", "psychcore spiking draws its figures with matplotlib"),
])
def test_the_figure_commands_say_what_to_install_before_reading_the_run(tmp_path, capsys,
                                                                        monkeypatch, command,
                                                                        missing, says):
    monkeypatch.setitem(__import__("sys").modules, missing, None)  # find_spec -> None
    assert main([command, str(tmp_path / "missing"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f'psychcore: error: {says}: pip install "psychcore[analysis]"' in err
    assert "does not exist" not in err


@pytest.mark.parametrize("unbuffered", [False, True])
def test_a_closed_stdout_ends_the_command_quietly_with_141(unbuffered):
    """`psychcore tasks | head -1`: the reader closes the pipe; no error message, whether the
    output is written as printed (PYTHONUNBUFFERED) or when stdout is flushed at the end."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen([sys.executable, "-m", "psychcore.cli", "tasks"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # before the command writes anything
    stderr = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 141, stderr
    assert stderr == ""
