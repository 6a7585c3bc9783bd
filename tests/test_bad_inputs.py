"""The bad-input table: what a user can get wrong, and what psychcore answers.

Each :class:`Case` says how a mistake is made (through the Python API or the ``psychcore``
command) and the message expected, as text in which ``...`` stands for any text. The same
table is published as ``docs/troubleshooting.md``:

    python tests/test_bad_inputs.py --write-docs

and :func:`test_troubleshooting_page_is_up_to_date` fails when the page and the table differ.
CLI cases run in-process through :func:`psychcore.cli.main`; each checks the exit status,
``psychcore: error:`` and that no traceback is printed.
"""

from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from numpy_backend import NumpyReadoutBackend  # noqa: E402
from sign_task import Sign  # noqa: E402

import psychcore  # noqa: E402
from psychcore import (  # noqa: E402
    Curriculum,
    Dale,
    Model,
    ModelSpec,
    Simulator,
    Task,
    _plugins,  # noqa: E402
)
from psychcore._checkpoint import META_KEY  # noqa: E402
from psychcore._task import checked_accuracy  # noqa: E402
from psychcore._training import TrainingOptions  # noqa: E402
from psychcore.backend import check_batch  # noqa: E402
from psychcore.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "troubleshooting.md"
SIGN = f"{Path(__file__).parent / 'sign_task.py'}:Sign"


@dataclass(frozen=True)
class Case:
    """One row of the table.

    Attributes:
        id: Test id.
        input: What the user did, as the page shows it.
        message: The message expected; ``...`` stands for any text.
        api: For an API case: does the wrong thing in the given temporary directory.
        error: The exception an API case raises.
        argv: For a CLI case: the arguments of ``psychcore``, given a temporary directory.
        exit_code: The exit status of a CLI case.
        xfail: Why the case cannot pass on this branch yet (strict: the merge flips it).
    """

    id: str
    input: str
    message: str
    api: Callable[[Path], Any] | None = None
    error: type[BaseException] | None = None
    argv: Callable[[Path], list[str]] | None = None
    exit_code: int = 2
    xfail: str | None = None

    def pattern(self) -> str:
        """The message as a regular expression."""
        return ".*".join(re.escape(part) for part in self.message.split("..."))


# ------------------------------------------------------------------------------- helpers
def bound(**fields: Any) -> ModelSpec:
    return ModelSpec(**{"N_rec": 4, **fields}).bind({"N_in": 1, "N_out": 2, "dt": 10, "tau": 50})


def weights(**changes: Any) -> dict[str, np.ndarray]:
    w = psychcore.initialize_weights(bound(), np.random.default_rng(0))
    w.update(changes)
    return w


def batch(**changes: Any) -> dict[str, np.ndarray]:
    b = {"x": np.zeros((2, 3, 1)), "y": np.zeros((2, 3, 2)), "mask": np.ones((2, 3, 2))}
    b.update(changes)
    return b


def with_entries(shape: tuple[int, ...], value: float, n: int = 1) -> np.ndarray:
    arr = np.ones(shape)
    arr.flat[:n] = value
    return arr


class ZeroMask(Sign):
    """A task whose mask is zero everywhere (e.g. an output period that never starts)."""

    def batch_function(self, t, params, rng):
        x, y, mask = super().batch_function(t, params, rng)
        return x, y, np.zeros(y.shape)


class NegativeMask(Sign):
    """A task whose mask is -1 during the first step."""

    def batch_function(self, t, params, rng):
        x, y, mask = super().batch_function(t, params, rng)
        mask = np.array(mask, dtype=float)
        mask[:, 0, :] = -1.0
        return x, y, mask


class NaNAccuracy(Sign):
    """A task whose accuracy is a mean over an empty selection."""

    def accuracy_function(self, correct_output, test_output, output_mask):
        return float(np.mean(np.array([])))


class NaNInput(Sign):
    """A task that divides by zero in its input."""

    def batch_function(self, t, params, rng):
        x, y, mask = super().batch_function(t, params, rng)
        return x / 0.0, y, mask


def params_dict(**network: Any) -> dict[str, Any]:
    params = Sign().get_task_params()
    params.update({"N_rec": 8, "name": "m", **network})
    return params


def model(task_or_params: Any, **kwargs: Any) -> Model:
    return Model(task_or_params, backend=NumpyReadoutBackend, seed=0, **kwargs)


def curriculum_metric(task: Task) -> Any:
    cur = Curriculum([task], thresholds=[0.9])
    x, y, mask, _ = task.get_trial_batch(0)
    return cur.metric_test(x, y, mask, y, 10, [], False)


def loop_cutoff(tmp: Path) -> Any:
    task = NaNAccuracy()
    return model(task, spec=ModelSpec(N_rec=8)).train(
        task, training_iters=64, loss_epoch=1, performance_cutoff=0.9, verbosity=False)


def save_nan_weights(tmp: Path) -> Any:
    return psychcore.save_weights(tmp / "w", weights(W_out=with_entries((2, 4), np.inf, 2)))


def load_nan_weights(tmp: Path) -> Any:
    np.savez(tmp / "nan.npz", **weights(W_rec=with_entries((4, 4), np.nan, 3)))
    return psychcore.load_weights(tmp / "nan.npz")


def write(path: Path, data: bytes | str) -> Path:
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)
    return path


def truncated_npz(tmp: Path) -> Path:
    psychcore.save_weights(tmp / "full", weights())
    return write(tmp / "cut.npz", (tmp / "full.npz").read_bytes()[:200])


def malformed_weights_json(tmp: Path) -> Any:
    psychcore.save_weights(tmp / "w", weights(), bound())
    write(tmp / "w.json", '{"N_rec": 4,')
    return psychcore.load_weights(tmp / "w.npz")


def malformed_checkpoint(tmp: Path) -> Any:
    np.savez(tmp / "ck.npz", **weights(), **{META_KEY: np.frombuffer(b"{oops", np.uint8)})
    return Model.from_checkpoint(tmp / "ck", backend=NumpyReadoutBackend)


def run_dir_with_bad_run_json(tmp: Path) -> list[str]:
    (tmp / "run").mkdir()
    psychcore.save_weights(tmp / "run" / "weights", weights(), bound())
    write(tmp / "run" / "run.json", "{'task': 'Sign'}")
    return ["report", str(tmp / "run"), "--no-progress"]


def spec_file(tmp: Path, text: str) -> str:
    return str(write(tmp / "spec.json", text))


def tf_device(device: str) -> Callable[[Path], Any]:
    from psychcore_tf._backend import resolve_device

    fake_tf = SimpleNamespace(config=SimpleNamespace(list_physical_devices=lambda kind: []))
    return lambda tmp: resolve_device(fake_tf, device)


def train(*extra: str, task: str = SIGN, backend: str = "numpy-readout") -> Callable:
    def argv(tmp: Path) -> list[str]:
        out = [] if "--out" in extra else ["--out", str(tmp / "run")]
        return ["train", task, "--backend", backend, "--no-progress", "--N-rec", "8",
                "--iters", "32", *out, *extra]
    return argv


def no_accuracy_task(tmp: Path) -> list[str]:
    write(tmp / "noacc.py", "import psychcore\nfrom sign_task import Sign\n\n\n"
          "class NoAcc(Sign):\n    accuracy_function = psychcore.Task.accuracy_function\n")
    return train("--performance-cutoff", "0.9", task=f"{tmp / 'noacc.py'}:NoAcc")(tmp)


def trained_run(tmp: Path, *resume_args: str) -> list[str]:
    """A finished tiny run in ``tmp/run``; the arguments resuming it with ``resume_args``."""
    assert main(train()(tmp)) == 0
    return train("--resume", "--iters", "64", *resume_args)(tmp)


def second_resume(tmp: Path) -> list[str]:
    """A run whose directory another process holds (its lock file, with the holder's record)."""
    from filelock import FileLock

    argv = trained_run(tmp)
    lock = FileLock(str(tmp / "run" / ".psychcore.lock"))
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time, json, os, socket\n"
        "from filelock import FileLock\n"
        f"lock = FileLock({str(lock.lock_file)!r}); lock.acquire()\n"
        f"open({str(tmp / 'run' / '.psychcore.lock.json')!r}, 'w').write(json.dumps("
        "{'pid': os.getpid(), 'host': socket.gethostname(), 'since': 'now'}))\n"
        "print('held', flush=True); time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    _HOLDERS.append(holder)
    return argv


_HOLDERS: list[subprocess.Popen] = []


def full_disk(tmp: Path) -> None:
    """Training whose checkpoint write finds the disk full (ENOSPC)."""
    from unittest import mock

    def no_space(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp / "run" / "checkpoint.npz"))

    with mock.patch("psychcore._checkpoint.atomic_savez", no_space):
        psychcore.train_run(Sign(), ModelSpec(N_rec=8), tmp / "run", backend=NumpyReadoutBackend,
                            training_iters=16 * 20, checkpoint_epoch=5, progress=False)


def broken_plugin(tmp: Path) -> None:
    """A task lookup after a plugin whose registration hook raises was skipped."""
    from fake_plugins import TASK_PLUGIN, FakePlugins

    from psychcore import plugins

    source = TASK_PLUGIN.format(cls="Lost", mod="plug_bad") + (
        "\n@hookimpl\ndef psychcore_register_backends():\n    return [1 / 0]\n")
    with pytest.MonkeyPatch.context() as mp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        installer = FakePlugins(tmp, mp)
        installer.add("plug_bad", source, dist=("psychcore-plug-bad", "1.2.3"))
        try:
            plugins.reload_plugins()
            psychcore.get_task("Lost")
        finally:
            installer.forget()
    plugins.reload_plugins()

def read_only_out(tmp: Path) -> list[str]:
    parent = tmp / "locked"
    parent.mkdir()
    parent.chmod(0o500)
    target = parent / "run" if os.geteuid() != 0 else Path("/proc/psychcore-run")
    return train("--out", str(target))(tmp)


# --------------------------------------------------------------------------------- table
CASES: list[Case] = [
    # -- batches: the backend kit's check_batch and the task's training batches -------------
    Case("mask-negative", "check_batch(spec, x, y, mask) with 3 mask entries of -1",
         "mask has 3 negative entries (min -1); a loss mask weights each output and must be "
         ">= 0", api=lambda t: check_batch(bound(), **batch(mask=with_entries((2, 3, 2), -1, 3))),
         error=ValueError),
    Case("mask-nan", "check_batch with a NaN in the mask",
         "mask has 1 NaN entries (first at index (0, 0, 0)); mask must be finite",
         api=lambda t: check_batch(bound(), **batch(mask=with_entries((2, 3, 2), np.nan))),
         error=ValueError),
    Case("x-inf", "check_batch with an infinite input",
         "x has 1 infinite entries (first at index (0, 0, 0)); x must be finite",
         api=lambda t: check_batch(bound(), **batch(x=with_entries((2, 3, 1), np.inf))),
         error=ValueError),
    Case("x-overflow", "check_batch with an input of 1e300 and a float32 spec",
         "x has 1 infinite entries after conversion to float32 ...",
         api=lambda t: check_batch(bound(), **batch(x=with_entries((2, 3, 1), 1e300))),
         error=ValueError),
    Case("noise-nan", "check_batch with NaN in the given recurrent noise",
         "noise has 1 NaN entries ...; noise must be finite",
         api=lambda t: check_batch(bound(rec_noise=0.1), **batch(
             noise=with_entries((2, 3, 4), np.nan))), error=ValueError),
    Case("task-mask-zero", "a task whose batch mask is zero everywhere, in training",
         "ZeroMask produced a batch whose mask is zero everywhere (shape (16, 30, 2)): no output "
         "is trained, ...", api=lambda t: ZeroMask().get_trial_batch(0), error=ValueError),
    Case("task-mask-negative", "a task whose mask has negative entries",
         "NegativeMask produced a mask with 32 negative entries (min -1); a loss mask weights "
         "each output and must be >= 0", api=lambda t: NegativeMask().get_trial_batch(0),
         error=ValueError),
    Case("task-input-nan", "a task whose inputs contain NaN",
         "NaNInput produced a non-finite value in x of shape (16, 30, 1) at trial 0, step 0 "
         "(t=0), channel 0", api=lambda t: NaNInput().get_trial_batch(0), error=ValueError),
    # -- weights ------------------------------------------------------------------------
    Case("weights-nan", "validate_weights with 3 NaN in W_rec",
         "validate_weights: W_rec has 3 NaN entries (of 16); weights must be finite ...",
         api=lambda t: psychcore.validate_weights(weights(W_rec=with_entries((4, 4), np.nan, 3))),
         error=ValueError),
    Case("weights-inf-save", "save_weights of weights with 2 infinite entries in W_out",
         "validate_weights: W_out has 2 infinite entries (of 8); weights must be finite",
         api=save_nan_weights, error=ValueError),
    Case("weights-nan-load", "load_weights of an .npz whose W_rec holds NaN",
         "load_weights: .../nan.npz: validate_weights: W_rec has 3 NaN entries (of 16)",
         api=load_nan_weights, error=ValueError),
    Case("weights-nan-simulator", "Simulator(spec, weights) with NaN in W_in",
         "weights['W_in'] has 1 NaN or infinite entries (of 4); weights must be finite",
         api=lambda t: Simulator(bound(), weights(W_in=with_entries((4, 1), np.nan))),
         error=ValueError),
    Case("weights-mask-half", "validate_weights with rec_connectivity holding 0.5",
         "validate_weights: rec_connectivity must contain only 0 and 1",
         api=lambda t: psychcore.validate_weights(weights(rec_connectivity=np.full((4, 4), .5))),
         error=ValueError),
    Case("weights-shape", "validate_weights with W_rec of shape (4, 3)",
         "validate_weights: W_rec must have shape ('G*N_rec', 'N_rec') with G=1 for "
         "architecture 'rnn'; received shape (4, 3)",
         api=lambda t: psychcore.validate_weights(weights(W_rec=np.ones((4, 3)))),
         error=ValueError),
    Case("npz-empty", "load_weights of an empty file",
         "load_weights: .../empty.npz is empty; expected an .npz archive of weight arrays ...",
         api=lambda t: psychcore.load_weights(write(t / "empty.npz", b"")), error=ValueError),
    Case("npz-truncated", "load_weights of a truncated .npz (an interrupted copy)",
         "load_weights: .../cut.npz is damaged (truncated or corrupt: ...); expected an .npz "
         "archive ...", api=lambda t: psychcore.load_weights(truncated_npz(t)),
         error=ValueError),
    Case("npz-text", "load_weights of a text file",
         "load_weights: .../weights.txt is not a zip archive (text or another format?); "
         "expected an .npz archive of weight arrays (np.savez, Model.save)",
         api=lambda t: psychcore.load_weights(write(t / "weights.txt", "W_rec = 1\n")),
         error=ValueError),
    Case("npz-npy", "load_weights of a single-array .npy file",
         "load_weights: .../W_rec.npy is a single-array .npy file; expected an .npz archive ...",
         api=lambda t: (np.save(t / "W_rec.npy", np.ones(3)),
                        psychcore.load_weights(t / "W_rec.npy")), error=ValueError),
    Case("npz-directory", "load_weights of a directory",
         "load_weights: ... is a directory; expected an .npz archive of weight arrays ...",
         api=lambda t: psychcore.load_weights(t), error=ValueError),
    Case("weights-json-malformed", "load_weights when the weights.json beside it is cut off",
         "...w.json (a ModelSpec JSON file (spec.json)) is not valid JSON: Expecting ... at "
         "line 1, column 13", api=malformed_weights_json, error=ValueError),
    Case("simulator-x-shape", "Simulator.run_trials with x of shape (5, 2)",
         "x has shape (5, 2); expected (N_batch, N_steps, N_in) with N_in = 1 ...",
         api=lambda t: Simulator(bound(), weights()).run_trials(np.zeros((5, 2))),
         error=ValueError),
    Case("simulator-x-nan", "Simulator.run_trials with a NaN input",
         "x has 1 NaN or infinite entries; inputs must be finite",
         api=lambda t: Simulator(bound(), weights()).run_trials(
             with_entries((1, 3, 1), np.nan)), error=ValueError),
    # -- accuracy and cutoff --------------------------------------------------------------
    Case("accuracy-nan-curriculum", "a curriculum on a task whose accuracy_function gives NaN",
         "NaNAccuracy.accuracy_function returned nan; an accuracy must be a finite number in "
         "[0, 1] ...", api=lambda t: curriculum_metric(NaNAccuracy()), error=ValueError),
    Case("accuracy-array", "an accuracy_function that returns one value per trial",
         "Sign.accuracy_function must return one number in [0, 1] (the fraction of correct "
         "trials of the batch); it returned an array of shape (16,)",
         api=lambda t: checked_accuracy(Sign(), np.ones(16)), error=TypeError),
    Case("accuracy-string", "an accuracy_function that returns a string",
         "Sign.accuracy_function must return one number in [0, 1] ...; it returned '0.9' (str)",
         api=lambda t: checked_accuracy(Sign(), "0.9"), error=TypeError),
    Case("accuracy-percent", "an accuracy_function that returns a percentage",
         "Sign.accuracy_function returned 87.5; an accuracy must be a finite number in [0, 1]",
         api=lambda t: checked_accuracy(Sign(), 87.5), error=ValueError),
    Case("accuracy-nan-cutoff", "training with performance_cutoff on a task whose accuracy "
         "is NaN", "NaNAccuracy.accuracy_function returned nan; ...", api=loop_cutoff,
         error=ValueError),
    Case("cutoff-nan", "TrainingOptions(performance_cutoff=float('nan'))",
         "performance_cutoff must be a finite number; received nan",
         api=lambda t: TrainingOptions(performance_cutoff=float("nan")), error=ValueError),
    Case("training-iters-zero", "model.train(task, training_iters=0)",
         "training_iters must be a positive int; received 0",
         api=lambda t: TrainingOptions(training_iters=0), error=ValueError),
    Case("curriculum-thresholds", "Curriculum([task, task], thresholds=[0.9])",
         "Curriculum: thresholds must have one entry per task (2); received 1",
         api=lambda t: Curriculum([Sign(), Sign()], thresholds=[0.9]), error=ValueError),
    # -- PsychRNN params dicts -----------------------------------------------------------
    Case("params-typo", "Model(params) with params['dale_raito'] = 0.8",
         "unknown PsychRNN key(s) 'dale_raito' (did you mean 'dale_ratio'?); a misspelt key "
         "would be ignored ...", api=lambda t: model(params_dict(dale_raito=0.8)),
         error=ValueError),
    Case("params-architecture", "Model(params) with params['architecture'] = 'lstm'",
         "params['architecture']: PsychRNN chose the architecture by class (Basic, LSTM), not "
         "by a key; use Model(task, ModelSpec(architecture=...))",
         api=lambda t: model(params_dict(architecture="lstm")), error=ValueError),
    Case("params-fixed-weights", "Model(params) with params['fixed_weights'] = {...}",
         "params['fixed_weights']: fixed weights are part of the network in psychcore, ...; use "
         "ModelSpec(constraints=[FixedWeights(W_rec=mask, ...)])",
         api=lambda t: model(params_dict(fixed_weights={"W_rec": np.ones((8, 8))})),
         error=ValueError),
    Case("params-training-option", "Model(params) with params['learning_rate'] = 0.01",
         "params['learning_rate']: 'learning_rate' is a training option (PsychRNN's "
         "train_params), not a network key; pass it to model.train(task, {'learning_rate': ...})",
         api=lambda t: model(params_dict(learning_rate=0.01)), error=ValueError),
    Case("params-unknown", "ModelSpec.from_psychrnn({'N_rec': 8, 'foo': 1}, unknown='error')",
         "ModelSpec.from_psychrnn: unknown PsychRNN key(s) ['foo']; valid network keys: ...",
         api=lambda t: ModelSpec.from_psychrnn({"N_rec": 8, "foo": 1}, unknown="error"),
         error=ValueError),
    # -- specs ---------------------------------------------------------------------------
    Case("spec-n-rec-zero", "ModelSpec(N_rec=0)", "ModelSpec: N_rec must be a positive int; "
         "received 0", api=lambda t: ModelSpec(N_rec=0), error=ValueError),
    Case("spec-dale-ratio", "ModelSpec(dale_ratio=1.5)",
         "ModelSpec: dale_ratio must be a finite number > 0 and <= 1; received 1.5",
         api=lambda t: ModelSpec(dale_ratio=1.5), error=ValueError),
    Case("spec-loss", "ModelSpec(loss='mse')",
         "ModelSpec: loss must be one of ('mean_squared_error', 'binary_cross_entropy', "
         "'cross_entropy'); received 'mse'", api=lambda t: ModelSpec(loss="mse"),
         error=ValueError),
    Case("spec-dale-twice", "ModelSpec(dale_ratio=0.8, constraints=[Dale(0.8)])",
         "ModelSpec: constraints[0] applies Dale's principle a second time (give dale_ratio or "
         "one Dale constraint, not both)",
         api=lambda t: ModelSpec(dale_ratio=0.8, constraints=(Dale(0.8),)), error=ValueError),
    Case("spec-from-dict-typo", "ModelSpec.from_dict({'N_rec': 8, 'dale_raito': 0.8})",
         "ModelSpec.from_dict: unknown key(s) ['dale_raito'] (did you mean 'dale_ratio' for "
         "'dale_raito'?); valid keys: ...",
         api=lambda t: ModelSpec.from_dict({"N_rec": 8, "dale_raito": 0.8}), error=ValueError),
    Case("spec-bind-conflict", "spec.bind(task) with a spec bound to another dt",
         "ModelSpec.bind: dt conflicts: the spec has dt=10.0, the task has dt=5",
         api=lambda t: bound().bind({"N_in": 1, "N_out": 2, "dt": 5, "tau": 50}),
         error=ValueError),
    Case("spec-too-big", "ModelSpec(N_rec=1_000_000).bind(task)",
         "ModelSpec: N_rec=1000000 (rnn, N_in=1, N_out=2) needs ... GiB for its weights alone "
         "(...), more than this machine's ... GiB of memory; choose a smaller N_rec",
         api=lambda t: ModelSpec(N_rec=1_000_000).bind(Sign()), error=ValueError),
    Case("spec-file-malformed", "ModelSpec.from_file of a cut-off spec.json",
         "...spec.json (a ModelSpec JSON file (spec.json)) is not valid JSON: ... at line 1, "
         "column 14", api=lambda t: ModelSpec.from_file(spec_file(t, '{"N_rec": 50,')),
         error=ValueError),
    Case("checkpoint-meta-malformed", "Model.from_checkpoint of a checkpoint whose metadata "
         "is not JSON", "...ck.npz (checkpoint metadata) is not valid JSON: ...",
         api=malformed_checkpoint, error=ValueError),
    # -- tasks and models ----------------------------------------------------------------
    Case("task-n-in-zero", "Task(N_in=0, ...)", "Task: N_in must be a positive int; received 0",
         api=lambda t: Task(0, 1, 10, 100, 1000, 16), error=ValueError),
    Case("task-t-below-dt", "Task(..., dt=10, T=5, ...)",
         "Task: T must be at least dt so that a trial has one step; received T=5.0 and dt=10.0",
         api=lambda t: Task(1, 1, 10, 100, 5, 16), error=ValueError),
    Case("model-test-shape", "model.test(x) with x of shape (2, 30)",
         "x must have shape (N_trials, N_steps, N_in=1); received (2, 30)",
         api=lambda t: model(Sign(), spec=ModelSpec(N_rec=8)).test(np.zeros((2, 30))),
         error=ValueError),
    Case("tf-device-index", "the TensorFlow backend with device='gpu:x'",
         "device 'gpu:x' is not a device the TensorFlow backend can use; accepted forms: None "
         "(first GPU, else CPU), 'cpu', 'gpu', 'cuda', 'gpu:N', ...",
         api=tf_device("gpu:x"), error=ValueError),
    Case("tf-device-tpu", "the TensorFlow backend with device='tpu'",
         "device 'tpu' is not a device the TensorFlow backend can use; accepted forms: ...",
         api=tf_device("tpu"), error=ValueError),
    Case("tf-device-job", "the TensorFlow backend with device='/job:foo'",
         "device '/job:foo' is not a device the TensorFlow backend can use; accepted forms: ...",
         api=tf_device("/job:foo"), error=ValueError),
    Case("tf-device-missing-gpu", "the TensorFlow backend with device='cuda:1' on a machine "
         "without GPU", "device 'cuda:1' requested but TensorFlow sees 0 GPU(s); use "
         "device='cpu' or None", api=tf_device("cuda:1"), error=ValueError),
    # -- the psychcore command -------------------------------------------------------------
    Case("cli-spec-malformed", "psychcore train ... --spec spec.json (not valid JSON)",
         "psychcore: error: ...spec.json (a ModelSpec JSON file (spec.json)) is not valid JSON: "
         "Expecting property name enclosed in double quotes at line 1, column 2",
         argv=lambda t: train("--spec", spec_file(t, "{N_rec: 50}"))(t)),
    Case("cli-spec-list", "psychcore train ... --spec spec.json (a JSON list)",
         "psychcore: error: ...spec.json holds a JSON list; expected a ModelSpec JSON file "
         "(spec.json): a JSON object ...", argv=lambda t: train("--spec", spec_file(t, "[50]"))(t)),
    Case("cli-spec-directory", "psychcore train ... --spec DIRECTORY",
         "psychcore: error: ... is a directory; expected a ModelSpec JSON file (spec.json)",
         argv=lambda t: train("--spec", str(t))(t)),
    Case("cli-spec-missing", "psychcore train ... --spec missing.json",
         "psychcore: error: ...missing.json does not exist; expected a ModelSpec JSON file ...",
         argv=lambda t: train("--spec", str(t / "missing.json"))(t)),
    Case("cli-spec-unknown-key", "psychcore train ... --spec spec.json with a misspelt key",
         "psychcore: error: ...spec.json: ModelSpec.from_dict: unknown key(s) ['N_recc'] (did "
         "you mean 'N_rec' for 'N_recc'?); ...",
         argv=lambda t: train("--spec", spec_file(t, '{"N_recc": 50}'))(t)),
    Case("cli-n-rec-huge", "psychcore train ... --N-rec 1000000",
         "psychcore: error: ModelSpec: N_rec=1000000 (rnn, N_in=1, N_out=2) needs ... GiB for "
         "its weights alone ...; choose a smaller N_rec",
         argv=lambda t: train("--N-rec", "1000000")(t)),
    Case("cli-n-rec-zero", "psychcore train ... --N-rec 0",
         "psychcore: error: argument --N-rec: must be a positive integer; received 0",
         argv=train("--N-rec", "0")),
    Case("cli-dale-ratio-zero", "psychcore train ... --dale-ratio 0",
         "psychcore: error: ModelSpec: dale_ratio must satisfy 0 < dale_ratio <= 1; received 0. "
         "...Use dale_ratio=None to disable Dale's law ...", argv=train("--dale-ratio", "0")),
    Case("cli-task-param-no-equals", "psychcore train ... -t T",
         "psychcore: error: --task-param expects KEY=VALUE; received 'T'", argv=train("-t", "T")),
    Case("cli-task-param-unknown", "psychcore train ... -t foo=1",
         "psychcore: error: task '...sign_task.py:Sign' has no parameter 'foo'; its parameters: "
         "N_batch, level, seed", argv=train("-t", "foo=1")),
    Case("cli-task-param-value", "psychcore train ... -t N_batch=0",
         "psychcore: error: Sign: N_batch must be a positive int; received 0",
         argv=train("-t", "N_batch=0")),
    Case("cli-spec-option-no-equals", "psychcore train ... -s N_rec",
         "psychcore: error: --spec-option expects KEY=VALUE; received 'N_rec'",
         argv=train("-s", "N_rec")),
    Case("cli-spec-option-typo", "psychcore train ... -s dale_raito=0.8",
         "psychcore: error: ModelSpec.from_dict: unknown key(s) ['dale_raito'] (did you mean "
         "'dale_ratio' for 'dale_raito'?); ...", argv=train("-s", "dale_raito=0.8")),
    Case("cli-spec-option-type", "psychcore train ... -s dale_ratio=abc",
         "psychcore: error: ModelSpec: dale_ratio must be None or a number with 0 < dale_ratio "
         "<= 1; received 'abc' (str)", argv=train("-s", "dale_ratio=abc")),
    Case("cli-spec-option-nan", "psychcore train ... -s rec_noise=NaN",
         "psychcore: error: ModelSpec: rec_noise must be a finite number >= 0; received nan",
         argv=train("-s", "rec_noise=NaN")),
    Case("cli-unknown-task", "psychcore train Foo",
         "psychcore: error: unknown task 'Foo'; available: ...", argv=train(task="Foo")),
    Case("cli-unknown-backend", "psychcore train ... --backend nope",
         "psychcore: error: unknown backend 'nope'; available: ...", argv=train(backend="nope")),
    Case("cli-task-file-missing", "psychcore train nofile.py:Task",
         "psychcore: error: task file 'nofile.py' does not exist (from 'nofile.py:Task')",
         argv=train(task="nofile.py:Task")),
    Case("cli-task-class-missing", "psychcore train sign_task.py:Nope",
         "psychcore: error: 'Nope' in ...sign_task.py is not a psychcore Task subclass; Task "
         "subclasses there: Sign", argv=train(task=SIGN.replace(":Sign", ":Nope"))),
    Case("cli-seed-negative", "psychcore train ... --seed -1",
         "psychcore: error: seed must be a non-negative integer; received -1",
         argv=train("--seed", "-1")),
    Case("cli-learning-rate-negative", "psychcore train ... --learning-rate -1",
         "psychcore: error: argument --learning-rate: must be a positive number; received -1",
         argv=train("--learning-rate", "-1")),
    Case("cli-cutoff-nan", "psychcore train ... --performance-cutoff nan",
         "psychcore: error: performance_cutoff must be a finite number; received nan",
         argv=train("--performance-cutoff", "nan")),
    Case("cli-resume-without-out", "psychcore train ... --resume (no --out)",
         "psychcore: error: --resume needs --out, the run directory to continue",
         argv=lambda t: [a for a in train("--resume")(t) if a not in ("--out", str(t / "run"))]),
    Case("cli-report-missing", "psychcore report missing-dir",
         "psychcore: error: report: run directory ...missing-dir does not exist",
         argv=lambda t: ["report", str(t / "missing-dir")]),
    Case("cli-report-run-json", "psychcore report RUN with a run.json that is not JSON",
         "psychcore: error: .../run.json (the run.json of a psychcore run) is not valid JSON: "
         "Expecting property name enclosed in double quotes at line 1, column 2",
         argv=run_dir_with_bad_run_json),
    # -- run directories and training ------------------------------------------------------
    Case("cli-resume-changed-options", "psychcore train ... --resume --N-rec 16 (the run has 8)",
         "psychcore: error: --resume: these options differ from the run's: N_rec 16 (run: 8) "
         "(only --iters, --performance-cutoff, --checkpoint-epoch, --device and --no-progress "
         "may change)", argv=lambda t: trained_run(t, "--N-rec", "16")),
    Case("cli-resume-in-use", "psychcore train ... --resume while another process trains there",
         "psychcore: error: run directory ...run is in use by pid ... on ... since now",
         argv=second_resume),
    Case("full-disk", "a checkpoint written while the disk is full",
         "could not write ...checkpoint.npz: No space left on device; the previous checkpoint "
         "is intact in ...; free space and resume with --resume", api=full_disk,
         error=OSError),
    Case("save-weights-missing-directory", "model.train(..., save_weights_path='nope/final')",
         "save_weights_path: directory ...nope does not exist (for ...final.npz); create it "
         "first", api=lambda t: psychcore.Model(Sign(), ModelSpec(N_rec=8),
                                               backend=NumpyReadoutBackend).train(
             Sign(), training_iters=16, verbosity=False, save_weights_path=str(t / "nope/final")),
         error=FileNotFoundError),
    Case("snapshot-exists", "model.train(..., training_weights_path=P) with P20.npz saved",
         "...w_20.npz already exists; psychcore never overwrites saved weights silently",
         api=lambda t: (write(t / "w_20.npz", "mine"), psychcore.Model(
             Sign(), ModelSpec(N_rec=8), backend=NumpyReadoutBackend).train(
             Sign(), training_iters=16 * 30, verbosity=False, save_training_weights_epoch=10,
             training_weights_path=str(t / "w_")))[1], error=FileExistsError),
    Case("plugin-hook-raises", "a plugin whose registration hook raises, then a lookup",
         "task 'Lost' is provided by plugin 'plug_bad' (psychcore-plug-bad 1.2.3), which was "
         "skipped: FAILED in psychcore_register_backends: ZeroDivisionError: division by zero",
         api=broken_plugin, error=ValueError),
    Case("cli-iters-negative", "psychcore train ... --iters -5",
         "psychcore: error: argument --iters: must be a positive integer; received -5",
         argv=train("--iters", "-5")),
    Case("cli-iters-zero", "psychcore train ... --iters 0",
         "psychcore: error: argument --iters: must be a positive integer; received 0",
         argv=train("--iters", "0")),
    Case("cli-out-file", "psychcore train ... --out FILE",
         "psychcore: error: run directory ...file is a file, not a directory",
         argv=lambda t: train("--out", str(write(t / "file", "x")))(t)),
    Case("cli-out-read-only", "psychcore train ... --out in a read-only directory",
         "psychcore: error: cannot write the run directory /proc/psychcore-run: /proc is not "
         "writable...", argv=read_only_out),
    Case("cli-cutoff-no-accuracy", "psychcore train TASK --performance-cutoff 0.9 with a task "
         "that defines no accuracy_function", "psychcore: error: a performance cutoff needs the "
         "task's accuracy; task ... has no accuracy_function",
         argv=no_accuracy_task),
    Case("cli-learning-rate-diverges", "psychcore train ... --backend torch --learning-rate 1e6",
         "psychcore: error: training diverged: the loss became nan at epoch 2; lower the "
         "learning rate...", exit_code=1,
         argv=lambda t: train("--learning-rate", "1e6", "--iters", "640", backend="torch")(t)),
]


# --------------------------------------------------------------------------------- tests
def _param(case: Case) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
    if case.id == "cli-learning-rate-diverges":
        marks.append(pytest.mark.skipif(
            __import__("importlib").util.find_spec("torch") is None, reason="needs torch"))
    return pytest.param(case, id=case.id, marks=marks)


@pytest.fixture(autouse=True)
def stop_lock_holders():
    """End the processes that held a run directory for a case."""
    yield
    while _HOLDERS:
        holder = _HOLDERS.pop()
        holder.kill()
        holder.wait()


@pytest.fixture(autouse=True)
def numpy_backend(monkeypatch):
    monkeypatch.setitem(_plugins.registry().backends, "numpy-readout", NumpyReadoutBackend)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_bad_input(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    if case.api is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(case.error) as info:
                case.api(tmp_path)
        assert re.search(case.pattern(), str(info.value), re.S), str(info.value)
        return
    code = main(case.argv(tmp_path))
    err = capsys.readouterr().err
    assert code == case.exit_code, err
    assert "psychcore: error:" in err and "Traceback" not in err, err
    assert re.search(case.pattern(), err, re.S), err


def test_table_is_well_formed() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    for c in CASES:
        assert (c.api is None) != (c.argv is None), c.id
        assert c.api is None or c.error is not None, c.id
    assert len(CASES) >= 60 and sum(c.argv is not None for c in CASES) >= 20


# ------------------------------------------------------------------------- the page
def render_page() -> str:
    """``docs/troubleshooting.md``, generated from :data:`CASES`."""
    lines = [
        "# Troubleshooting: what psychcore says when an input is wrong",
        "",
        "<!-- Generated from tests/test_bad_inputs.py by "
        "`python tests/test_bad_inputs.py --write-docs`; do not edit by hand. -->",
        "",
        "Each row is a mistake a user can make and the message psychcore answers with; the "
        "test suite checks every one of them (`tests/test_bad_inputs.py`). In messages, `...` "
        "stands for text that depends on the case (paths, sizes, lists). From the command "
        "line, every error is printed as `psychcore: error: ...` with exit status 2 and no "
        "traceback.",
        "",
    ]
    sections = [("Python API", [c for c in CASES if c.api is not None]),
                ("The psychcore command", [c for c in CASES if c.argv is not None])]
    for title, cases in sections:
        lines += [f"## {title}", "", "| Input | Error | Message |", "| --- | --- | --- |"]
        for c in cases:
            kind = c.error.__name__ if c.error is not None else f"exit {c.exit_code}"
            if c.xfail:
                kind += " (planned)"
            message = c.message.replace("|", "\\|")
            lines.append(f"| {c.input.replace('|', chr(92) + '|')} | {kind} | `{message}` |")
        lines.append("")
    return "\n".join(lines)


def test_troubleshooting_page_is_up_to_date() -> None:
    assert DOCS.exists(), "run: python tests/test_bad_inputs.py --write-docs"
    assert DOCS.read_text(encoding="utf-8") == render_page(), (
        "docs/troubleshooting.md differs from the table; run: "
        "python tests/test_bad_inputs.py --write-docs"
    )


if __name__ == "__main__":
    if sys.argv[1:] != ["--write-docs"]:
        sys.exit("usage: python tests/test_bad_inputs.py --write-docs")
    DOCS.write_text(render_page(), encoding="utf-8")
    print(f"wrote {DOCS} ({len(CASES)} cases)")
