"""NeuroGymTask: any NeuroGym environment as a psychcore Task with trial-aligned batches.

NeuroGym (and through it gymnasium and torch) is imported only when a task is built, never
when this module is imported, so that listing psychcore's plugins stays fast.
"""

from __future__ import annotations

import contextlib
import copy
import types
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np

from psychcore import Task

from ._timing import max_of_draws, period_max, steps_of

#: Label of the padded steps after a trial's end (``ignore_index`` of a cross-entropy).
LABEL_PAD = -1

#: Trials drawn (with a fixed seed) when a task is built, to learn the periods that the
#: environment uses and the longest trial it makes.
PROBE_TRIALS = 200

#: gymnasium wrappers that change neither the observations nor the ground truth of a trial.
_TRANSPARENT_WRAPPERS = frozenset({"OrderEnforcing", "PassiveEnvChecker"})

_QUIET = (
    r".*env\.\w+ to get variables from other wrappers is deprecated",
    r".*The environment creator metadata doesn't include `render_modes`",
)

_AUTO = "auto"


class UnsupportedEnvironmentError(ValueError):
    """A NeuroGym environment whose trials cannot be turned into supervised batches."""


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence gymnasium's deprecation chatter about wrapper attribute forwarding."""
    with warnings.catch_warnings():
        for message in _QUIET:
            warnings.filterwarnings("ignore", message=message, category=UserWarning)
        yield


@dataclass
class _RawTrial:
    """One trial as NeuroGym built it (unpadded)."""

    ob: np.ndarray
    gt: np.ndarray
    trial: dict
    periods: dict[str, tuple[int, int]]
    durations: dict[str, float]
    env: Any  # the TrialEnv that made it (differs per trial in multi-environment wrappers)


def _describe(value: Any) -> str:
    if isinstance(value, bool | Real | str) or value is None:
        return f"{value!r} ({type(value).__name__})"
    return type(value).__name__


class NeuroGymTask(Task):
    """A NeuroGym environment as a psychcore task: one trial per batch row.

    Each row of a batch is one trial made by the environment's ``new_trial()``: the inputs are
    its observations ``env.ob``, the targets its ground truth ``env.gt`` (one-hot over the
    actions of a ``Discrete`` action space, for a mean-squared-error or a cross-entropy loss;
    the values themselves for a ``Box`` action space), padded with zeros to ``N_steps`` steps.
    The mask is 1 on the trial's steps and 0 on the padding (and, with ``mask_fixation=True``,
    0 also on the steps whose ground truth is the fixation action).

    Every batch copies the environment as it was built and seeds the copy (NeuroGym's
    ``env.seed``) from the task's generator, so the same psychcore seed gives byte-identical
    batches, and NeuroGym's global state is never touched.

    Args:
        env: A NeuroGym environment id (``"DelayComparison-v0"``, ``"yang19.dm1-v0"``: any id
            of ``neurogym.envs.registration.all_envs(collections=True)``) or an environment
            instance (a copy is used; the instance itself is never stepped).
        dt: Time step (ms) passed to the environment; its default when None (100 ms for most).
            Only with an id.
        timing: Period durations passed to the environment (NeuroGym's ``timing`` format,
            e.g. ``{"delay": ("choice", [200, 400, 800])}``). Only with an id.
        T: Trial duration (ms) of the padded batches; by default the longest trial the
            environment's timing allows (:attr:`max_trial_steps` steps). A trial longer than
            ``T`` raises an error when it is drawn.
        N_batch: Trials per batch.
        tau: Time constant of the network's units (ms); ``alpha = dt / tau``. NeuroGym has
            none: the default 100 ms gives ``alpha = 1`` at its usual ``dt = 100``, the
            discrete-time RNN of NeuroGym's examples.
        mask_fixation: Also zero the mask where the ground truth is the fixation action, so that
            only the responses are trained.
        fixation_action: The action that means "keep fixating" (``Discrete`` action spaces):
            ``"auto"`` reads ``action_space.name["fixation"]`` and otherwise takes action 0,
            NeuroGym's convention; ``None`` for an environment without one (the choice is then
            the output at a trial's last step).
        seed: Seed or ``numpy.random.Generator`` of the task's draws.
        env_kwargs: Keyword arguments of the environment, for names that clash with this
            constructor's (e.g. ``tau``). Only with an id.
        **kwargs: Further keyword arguments of the environment (``sigma=...``, ...).

    Attributes:
        env_id: The environment id (the class name for an unregistered instance).
        env_kwargs: The keyword arguments the environment was built with (``dt`` and
            ``timing`` included when given).
        discrete: Whether the action space is ``Discrete`` (class labels exist).
        fixation_action: The resolved fixation action (None when there is none).
        max_trial_steps: Steps of the longest trial the environment can make.

    Trial parameters (``get_trial_batch()[3]``, one dict per trial): ``trial`` (NeuroGym's
    ``env.trial``: ``ground_truth`` and the trial's other variables), ``n_steps`` (its length),
    ``periods`` (``{name: (start_step, end_step)}``), ``decision_start``/``decision_end`` (the
    steps whose response is scored, see :meth:`accuracy_function`), ``ob`` (the padded
    observations), and ``label`` (the action index per step, :data:`LABEL_PAD` on padding) for
    a discrete action space or ``target`` for a continuous one.
    """

    def __init__(
        self,
        env: Any,
        dt: float | None = None,
        timing: Mapping[str, Any] | None = None,
        *,
        T: float | None = None,
        N_batch: int = 64,
        tau: float = 100.0,
        mask_fixation: bool = False,
        fixation_action: int | str | None = _AUTO,
        seed: Any = None,
        env_kwargs: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        owner = type(self).__name__
        if not isinstance(mask_fixation, bool | np.bool_):
            raise TypeError(f"{owner}: mask_fixation must be a bool; received "
                            f"{_describe(mask_fixation)}")
        built, env_id, used_kwargs = self._build_env(owner, env, dt, timing, env_kwargs, kwargs)
        self._env = built
        outer = built
        self._check_wrappers(outer, env_id)
        unwrapped = outer.unwrapped
        if not (hasattr(unwrapped, "new_trial") and hasattr(unwrapped, "_top")):
            raise UnsupportedEnvironmentError(
                f"{env_id} is not a trial-based NeuroGym environment (neurogym.TrialEnv)"
            )
        obs_shape = outer.observation_space.shape
        if obs_shape is None or len(obs_shape) != 1:
            raise UnsupportedEnvironmentError(
                f"{env_id} has observations of shape {obs_shape}; a network needs a vector"
            )
        space = outer.action_space
        self.discrete = hasattr(space, "n") and not getattr(space, "shape", ())
        if self.discrete:
            n_out = int(space.n)
        elif space.shape is not None and len(space.shape) == 1:
            n_out = int(space.shape[0])
        else:
            raise UnsupportedEnvironmentError(
                f"{env_id} has an action space {space} that is neither Discrete nor a vector Box"
            )
        self.fixation_action = self._resolve_fixation(owner, fixation_action, space, n_out)
        if mask_fixation and self.fixation_action is None:
            raise ValueError(
                f"{owner}: mask_fixation=True needs a fixation action; {env_id} has none"
            )
        self._env_id = env_id
        self._n_actions = n_out
        env_dt = float(unwrapped.dt)
        self.max_trial_steps = self._probe(env_id, env_dt)
        if T is None:
            T = self.max_trial_steps * env_dt
        super().__init__(int(obs_shape[0]), n_out, env_dt, tau, T, N_batch, seed)
        self.env_id = env_id
        self.env_kwargs = used_kwargs
        self.mask_fixation = bool(mask_fixation)
        self._step_env: Any = None

    # ------------------------------------------------------------ construction
    @staticmethod
    def _build_env(
        owner: str,
        env: Any,
        dt: float | None,
        timing: Mapping[str, Any] | None,
        env_kwargs: Mapping[str, Any] | None,
        kwargs: dict[str, Any],
    ) -> tuple[Any, str, dict[str, Any]]:
        if env_kwargs is not None and not isinstance(env_kwargs, Mapping):
            raise TypeError(f"{owner}: env_kwargs must be a dict; received "
                            f"{_describe(env_kwargs)}")
        if isinstance(env, str):
            used = {**dict(env_kwargs or {}), **kwargs}
            if dt is not None:
                used["dt"] = dt
            if timing is not None:
                if not isinstance(timing, Mapping):
                    raise TypeError(f"{owner}: timing must be a dict of period durations; "
                                    f"received {_describe(timing)}")
                used["timing"] = dict(timing)
            return _make(owner, env, used), env, copy.deepcopy(used)
        import gymnasium

        if not isinstance(env, gymnasium.Env):
            raise TypeError(
                f"{owner}: env must be a NeuroGym environment id (str) or a gymnasium.Env "
                f"instance; received {_describe(env)}"
            )
        if dt is not None or timing is not None or env_kwargs or kwargs:
            raise TypeError(
                f"{owner}: dt, timing and environment keyword arguments go to the environment's "
                "constructor; pass them when you build the instance, or pass an id"
            )
        spec = getattr(env, "spec", None)
        env_id = spec.id if spec is not None else type(env.unwrapped).__name__
        with _quiet():
            return _copy_env(env), env_id, {}

    @staticmethod
    def _check_wrappers(outer: Any, env_id: str) -> None:
        import gymnasium

        obj = outer
        while isinstance(obj, gymnasium.Wrapper):
            cls = type(obj)
            trial_wrapper = hasattr(cls, "new_trial")
            if not trial_wrapper and cls.__name__ not in _TRANSPARENT_WRAPPERS and (
                cls.step is not gymnasium.Wrapper.step
            ):
                raise UnsupportedEnvironmentError(
                    f"{env_id}'s wrapper {cls.__name__} changes the trial while the environment "
                    "is stepped, which batches built from new_trial() (env.ob, env.gt) cannot "
                    "show"
                )
            obj = obj.env

    @staticmethod
    def _resolve_fixation(owner: str, value: Any, space: Any, n_out: int) -> int | None:
        if not (hasattr(space, "n") and not getattr(space, "shape", ())):
            return None
        if value is None:
            return None
        if isinstance(value, str) and value == _AUTO:
            names = getattr(space, "name", None)
            named = names.get("fixation") if isinstance(names, Mapping) else None
            return int(named) if isinstance(named, Integral) else 0
        if isinstance(value, bool) or not isinstance(value, Integral):
            raise TypeError(f"{owner}: fixation_action must be an action index, None or "
                            f"'auto'; received {_describe(value)}")
        if not 0 <= value < n_out:
            raise ValueError(f"{owner}: fixation_action must lie in [0, {n_out}); "
                             f"received {value}")
        return int(value)

    def _probe(self, env_id: str, dt: float) -> int:
        """Steps of the longest trial: the timing's bounds, checked on ``PROBE_TRIALS``."""
        env = self._fresh_env(0)
        longest = 0
        used: dict[int, tuple[Any, set[str]]] = {}
        observed: dict[tuple[int, str], float] = {}
        for _ in range(PROBE_TRIALS):
            raw = self._raw_trial(env)
            longest = max(longest, raw.ob.shape[0])
            key = id(raw.env)
            used.setdefault(key, (raw.env, set()))[1].update(raw.periods)
            for name, duration in raw.durations.items():
                observed[key, name] = max(observed.get((key, name), 0.0), duration)
        bound = 0
        for key, (trial_env, names) in used.items():
            timing = getattr(trial_env, "timing", {}) or {}
            total = 0.0
            for name in names:
                spec_max = None
                if name in timing:
                    with _quiet():
                        spec_max = period_max(timing[name], dt, max_of_draws)
                # a period whose duration the environment sets itself (not from timing)
                # can outgrow its timing entry: take the longest one seen then
                total += max(spec_max or 0.0, observed[key, name])
            bound = max(bound, steps_of(total, dt))
        return max(bound, longest)

    # ------------------------------------------------------------ environments
    def _fresh_env(self, seed: int) -> Any:
        """A copy of the environment as built, seeded with NeuroGym's ``seed``."""
        with _quiet():
            env = _copy_env(self._env)
            _seed_env(env, seed)
        return env

    def _start_batch(self, rng: np.random.Generator) -> Any:
        return self._fresh_env(int(rng.integers(0, 2**32, dtype=np.uint64)))

    def _raw_trial(self, env: Any) -> _RawTrial:
        """Draw one trial from ``env`` (NeuroGym's ``new_trial``) and check it."""
        with _quiet():
            top = env.unwrapped._top
            subenvs = [e.unwrapped for e in getattr(top, "envs", None) or [env]]
            for sub in subenvs:  # forget the previous trial's periods
                for table in (sub.start_t, sub.end_t, sub.start_ind, sub.end_ind):
                    table.clear()
            trial = top.new_trial()
            current = env.unwrapped
        name = self._env_id
        if not getattr(current, "_ob_built", False) or getattr(current, "ob", None) is None:
            raise UnsupportedEnvironmentError(
                f"{name} builds no observations for a whole trial (env.ob): it makes them "
                "step by step"
            )
        if not getattr(current, "_gt_built", False) or getattr(current, "gt", None) is None:
            raise UnsupportedEnvironmentError(
                f"{name} defines no ground truth (env.gt) for its trials: a reward-only task, "
                "with nothing to train a network on by supervision"
            )
        ob = np.asarray(current.ob)
        gt = np.asarray(current.gt)
        n = ob.shape[0]
        if n == 0 or gt.shape[0] != n or ob.ndim != 2 or ob.shape[1] != self._n_in_expected(env):
            raise UnsupportedEnvironmentError(
                f"{name} made a trial with observations of shape {ob.shape} and ground truth "
                f"of shape {gt.shape}"
            )
        if self.discrete:
            if gt.ndim != 1 or not np.all(np.isfinite(gt)) or np.any(gt != np.round(gt)) or (
                gt.min() < 0 or gt.max() >= self._n_actions
            ):
                bad = sorted({float(v) for v in np.ravel(gt)
                              if not (0 <= v < self._n_actions and v == round(v))})
                raise UnsupportedEnvironmentError(
                    f"{name}'s ground truth is not an action of its action space "
                    f"Discrete({self._n_actions}): it holds {', '.join(f'{v:g}' for v in bad)}"
                )
        elif gt.shape != (n, self._n_actions):
            raise UnsupportedEnvironmentError(
                f"{name}'s ground truth has shape {gt.shape}; expected ({n}, {self._n_actions})"
            )
        periods = {
            p: (int(current.start_ind[p]), int(current.end_ind[p])) for p in current.start_ind
        }
        durations = {p: float(current.end_t[p] - current.start_t[p]) for p in current.start_t}
        return _RawTrial(ob, gt, trial if isinstance(trial, dict) else {}, periods, durations,
                         current)

    @staticmethod
    def _n_in_expected(env: Any) -> int:
        return int(env.observation_space.shape[0])

    def _decision_window(self, raw: _RawTrial) -> tuple[int, int]:
        n = raw.ob.shape[0]
        if "decision" in raw.periods:
            start, end = raw.periods["decision"]
            start, end = max(0, min(start, n - 1)), max(1, min(end, n))
            if end > start:
                return start, end
        if self.discrete and self.fixation_action is not None:
            respond = np.flatnonzero(raw.gt != self.fixation_action)
            if respond.size:
                return int(respond[0]), int(respond[-1]) + 1
        return n - 1, n

    def _next_trial(self, env: Any) -> dict[str, Any]:
        """One trial as psychcore trial parameters (padded to ``N_steps``)."""
        raw = self._raw_trial(env)
        n, S = raw.ob.shape[0], self.N_steps
        if n > S:
            raise ValueError(
                f"{type(self).__name__}: {self.env_id} made a trial of {n} steps "
                f"({n * self.dt:g} ms), longer than N_steps={S} (T={self.T:g}); pass a larger "
                f"T (its longest trial has {self.max_trial_steps} steps) or shorter timing"
            )
        ob = np.zeros((S, self.N_in), dtype=self.dtype)
        ob[:n] = raw.ob
        start, end = self._decision_window(raw)
        params: dict[str, Any] = {
            "trial": copy.deepcopy(raw.trial),
            "n_steps": n,
            "periods": raw.periods,
            "decision_start": start,
            "decision_end": end,
            "ob": ob,
        }
        if self.discrete:
            label = np.full(S, LABEL_PAD, dtype=np.int64)
            label[:n] = raw.gt.astype(np.int64)
            params["label"] = label
        else:
            target = np.zeros((S, self.N_out), dtype=self.dtype)
            target[:n] = raw.gt
            params["target"] = target
        return params

    # ------------------------------------------------------------ the Task contract
    def generate_trial_params(self, batch: int, trial: int) -> dict[str, Any]:
        """One trial (per-step interface): trial 0 of a batch starts a freshly seeded copy."""
        if trial == 0 or self._step_env is None:
            self._step_env = self._start_batch(self.rng)
        return self._next_trial(self._step_env)

    def generate_batch_params(
        self, batch: int, N: int, rng: np.random.Generator
    ) -> dict[str, np.ndarray]:
        """``N`` consecutive trials of a freshly seeded copy of the environment."""
        env = self._start_batch(rng)
        trials = [self._next_trial(env) for _ in range(N)]
        out: dict[str, np.ndarray] = {}
        for key in trials[0] if trials else ():
            values = [t[key] for t in trials]
            if isinstance(values[0], dict):
                column = np.empty(N, dtype=object)
                column[:] = values
                out[key] = column
            else:
                out[key] = np.stack([np.asarray(v) for v in values])
        return out

    def _active(self, n_steps: np.ndarray, label: np.ndarray | None) -> np.ndarray:
        """``(N, N_steps)``: where the mask is 1."""
        active = np.arange(self.N_steps)[None, :] < n_steps[:, None]
        if self.mask_fixation and label is not None:
            active &= label != self.fixation_action
        return active

    def batch_function(
        self, t: np.ndarray, params: dict[str, np.ndarray], rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Inputs, targets and mask of a batch from its trial parameters (vectorised)."""
        n_steps = np.asarray(params["n_steps"])
        x = np.asarray(params["ob"], dtype=self.dtype)
        if self.discrete:
            label = np.asarray(params["label"])
            y = (label[..., None] == np.arange(self.N_out)).astype(self.dtype)
        else:
            label = None
            y = np.asarray(params["target"], dtype=self.dtype)
        active = self._active(n_steps, label)
        mask = np.repeat(active[..., None], self.N_out, axis=-1).astype(self.dtype)
        return x, y, mask

    def trial_function(self, t: float, params: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Input, target and mask at time ``t`` of one trial (PsychRNN's per-step interface)."""
        step = int(round(t / self.dt))
        x = params["ob"][step]
        label = None
        if self.discrete:
            label = np.asarray(params["label"][step])
            y = (np.arange(self.N_out) == label).astype(self.dtype)
        else:
            y = np.asarray(params["target"][step], dtype=self.dtype)
        active = step < int(params["n_steps"])
        if self.mask_fixation and label is not None:
            active = active and int(label) != self.fixation_action
        mask = np.full(self.N_out, 1.0 if active else 0.0, dtype=self.dtype)
        return x, y, mask

    # ------------------------------------------------------------ labels and accuracy
    def labels(self, trial_params: Sequence[dict] | np.ndarray) -> np.ndarray:
        """Class labels of a batch: ``(N_batch, N_steps)`` action indices.

        Args:
            trial_params: The trial parameters of the batch (``get_trial_batch()[3]``).

        Returns:
            int64 array, :data:`LABEL_PAD` (-1) on padded steps: the targets of a
            cross-entropy loss with ``ignore_index=-1``; ``argmax`` of the one-hot targets
            ``y`` elsewhere.

        Raises:
            ValueError: For an environment with a continuous action space.
        """
        if not self.discrete:
            raise ValueError(f"{self.env_id} has a continuous action space: no class labels")
        return np.stack([np.asarray(p["label"], dtype=np.int64) for p in trial_params])

    def accuracy_function(
        self,
        correct_output: np.ndarray,
        test_output: np.ndarray,
        output_mask: np.ndarray,
        trial_params: Sequence[dict] | np.ndarray | None = None,
    ) -> float:
        """Fraction of trials whose choice in the decision period is the ground truth.

        As a NeuroGym environment scores a trial when it is stepped, the choice is the first
        action other than fixation (the argmax of the output) in the trial's decision period:
        the trial is correct when it is the ground truth at that step. A trial in which the
        output keeps fixating throughout the decision period is correct when the ground truth
        asks for no response there (a no-go trial), and wrong otherwise. Without a fixation
        action (``fixation_action=None``) the choice is the output at the period's last step.

        The decision period is the environment's period named ``decision`` when
        ``trial_params`` are given (read from ``decision_start``/``decision_end``). Without
        them it is inferred from the targets: the span of the (masked) steps whose ground
        truth is not fixation, or the last masked step of a trial that asks for no response;
        trials whose mask is zero throughout are left out.

        Args:
            correct_output: Targets ``y`` of the batch ``(N, N_steps, N_out)``.
            test_output: Network outputs of the same shape.
            output_mask: The batch's mask.
            trial_params: The batch's trial parameters, for the exact decision periods.

        Returns:
            Accuracy in [0, 1] (0.0 when no trial can be scored).

        Raises:
            NotImplementedError: For a continuous action space (no choice to score).
        """
        correct = self.trial_correct(correct_output, test_output, output_mask, trial_params)
        return float(correct.mean()) if correct.size else 0.0

    def trial_correct(
        self,
        correct_output: np.ndarray,
        test_output: np.ndarray,
        output_mask: np.ndarray,
        trial_params: Sequence[dict] | np.ndarray | None = None,
    ) -> np.ndarray:
        """Per-trial correctness (see :meth:`accuracy_function`) of the trials it can score.

        Returns:
            A boolean array, one entry per scored trial.
        """
        if not self.discrete:
            raise NotImplementedError(
                f"{self.env_id} has a continuous action space: NeuroGym scores it with a graded "
                "reward, not a correct choice, so it has no accuracy_function"
            )
        y = np.asarray(correct_output)
        out = np.asarray(test_output)
        mask = np.asarray(output_mask)
        if y.ndim != 3 or out.shape != y.shape or mask.shape != y.shape:
            raise ValueError(
                f"correct_output, test_output and output_mask must share a shape "
                f"(N, N_steps, N_out); received {y.shape}, {out.shape} and {mask.shape}"
            )
        N, S, _ = y.shape
        steps = np.arange(S)
        fix = self.fixation_action
        if trial_params is not None:
            if len(trial_params) != N:
                raise ValueError(f"trial_params has {len(trial_params)} trials; y has {N}")
            n_steps = np.array([p["n_steps"] for p in trial_params])
            inside = steps[None, :] < n_steps[:, None]
            start = np.array([p["decision_start"] for p in trial_params])
            end = np.array([p["decision_end"] for p in trial_params])
            scored = np.ones(N, dtype=bool)
        else:
            inside = mask.max(axis=2) > 0
            scored = inside.any(axis=1)
            last = S - 1 - np.argmax(inside[:, ::-1], axis=1)
            labels = np.where(inside, y.argmax(axis=2), LABEL_PAD)
            respond = inside & (labels != fix) if fix is not None else np.zeros_like(inside)
            has_response = respond.any(axis=1)
            first_r = np.argmax(respond, axis=1)
            last_r = S - 1 - np.argmax(respond[:, ::-1], axis=1)
            start = np.where(has_response, first_r, last)
            end = np.where(has_response, last_r + 1, last + 1)
        labels = np.where(inside, y.argmax(axis=2), LABEL_PAD)
        choice = out.argmax(axis=2)
        rows = np.arange(N)
        window = (steps[None, :] >= start[:, None]) & (steps[None, :] < end[:, None])
        if fix is None:
            at = end - 1
            correct = choice[rows, at] == labels[rows, at]
        else:
            acted = window & (choice != fix)
            first = np.argmax(acted, axis=1)
            made_choice = choice[rows, first] == labels[rows, first]
            withheld_ok = ~(window & (labels != fix)).any(axis=1)
            correct = np.where(acted.any(axis=1), made_choice, withheld_ok)
        return correct[scored]

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.env_id!r}, N_in={self.N_in}, N_out={self.N_out}, "
            f"dt={self.dt:g}, tau={self.tau:g}, T={self.T:g}, N_batch={self.N_batch})"
        )


def _make(owner: str, env_id: str, kwargs: dict[str, Any]) -> Any:
    """``neurogym.make(env_id, **kwargs)`` with readable errors."""
    with _quiet():
        import neurogym

        try:
            return neurogym.make(env_id, **kwargs)
        except TypeError as exc:
            message = str(exc).split(" was raised from the environment creator")[0]
            raise TypeError(
                f"{owner}: NeuroGym cannot build {env_id!r} with arguments "
                f"{sorted(kwargs)}: {message}"
            ) from exc
        except Exception as exc:  # gymnasium's NameNotFound and friends
            if type(exc).__module__.startswith("gymnasium"):
                raise ValueError(
                    f"{owner}: unknown NeuroGym environment {env_id!r} ({exc}); see "
                    "neurogym.envs.registration.all_envs(collections=True)"
                ) from exc
            raise


def labels_from_targets(y: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Class labels ``(N, N_steps)`` from one-hot targets: ``argmax`` over the channels.

    Steps whose target is all zero (padding) or whose mask is zero get :data:`LABEL_PAD`.
    """
    y = np.asarray(y)
    keep = y.max(axis=-1) > 0
    if mask is not None:
        keep &= np.asarray(mask).max(axis=-1) > 0
    return np.where(keep, y.argmax(axis=-1), LABEL_PAD).astype(np.int64)



def _rebind(fn: types.FunctionType, memo: dict[int, Any]) -> types.FunctionType:
    """``fn`` with the objects its closure refers to replaced by their copies in ``memo``."""
    cells = tuple(
        types.CellType(memo.get(id(cell.cell_contents), cell.cell_contents))
        if _cell_is_set(cell) else cell
        for cell in fn.__closure__ or ()
    )
    new = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, cells)
    new.__kwdefaults__ = fn.__kwdefaults__
    return new


def _cell_is_set(cell: types.CellType) -> bool:
    try:
        cell.cell_contents  # noqa: B018
    except ValueError:
        return False
    return True


def _env_objects(env: Any) -> list[Any]:
    """The wrappers and environments of ``env``, outermost first, each once."""
    found: list[Any] = []
    seen: set[int] = set()
    stack = [env]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or getattr(obj, "__dict__", None) is None:
            continue
        seen.add(id(obj))
        found.append(obj)
        attrs = vars(obj)
        children = [attrs.get("env"), attrs.get("_top"), *(attrs.get("envs") or ())]
        for child in reversed([c for c in children if c is not None]):
            stack.append(getattr(child, "unwrapped", child))
            stack.append(child)
    return found


def _copy_env(env: Any) -> Any:
    """A deep copy of an environment whose timing functions draw from the copy.

    ``copy.deepcopy`` shares functions, so a timing lambda such as
    ``lambda: self.rng.uniform(300, 600)`` would still draw from the original environment's
    generator; the copy's lambdas are rebound to the copied objects.
    """
    memo: dict[int, Any] = {}
    new = copy.deepcopy(env, memo)
    for obj in _env_objects(new):
        attrs = vars(obj)
        for key, value in list(attrs.items()):
            if isinstance(value, types.FunctionType) and value.__closure__:
                attrs[key] = _rebind(value, memo)
            elif isinstance(value, dict) and key == "timing":
                for name, spec in list(value.items()):
                    if isinstance(spec, types.FunctionType) and spec.__closure__:
                        value[name] = _rebind(spec, memo)
    return new


def _seed_env(env: Any, seed: int) -> None:
    """Seed an environment: NeuroGym's ``seed`` on its outermost seedable layer, then every
    ``numpy.random.Generator`` it keeps (NeuroGym's ``seed`` reaches only ``RandomState``s;
    e.g. ``AnnubesEnv`` draws from a Generator of its own)."""
    import gymnasium

    target = env
    while isinstance(target, gymnasium.Wrapper) and not hasattr(type(target), "seed"):
        target = target.env
    target.seed(seed)
    index = 0
    for obj in _env_objects(env):
        attrs = vars(obj)
        for key, value in list(attrs.items()):
            if isinstance(value, np.random.Generator):
                attrs[key] = np.random.default_rng(np.random.SeedSequence([seed, index]))
                index += 1
