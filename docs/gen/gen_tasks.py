"""mkdocs-gen-files script: one page per installed task, and ``tasks/index.md``.

Each page comes from the task plugins registered with psychcore's plugin manager: the class
docstring (the paper and what the network must do), the accuracy criterion
(``accuracy_function``'s docstring), the constructor's parameters with their defaults, and a
timing diagram of one example trial (inputs, target and mask over time) drawn from the task's
own batch generation with seed 0. Task plugins that are not installed are listed on the index
page instead of failing the build.
"""

from __future__ import annotations

import importlib.metadata
import inspect
import io
import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import mkdocs_gen_files  # noqa: E402

from psychcore import Task, get_task  # noqa: E402
from psychcore.plugins import TASK_DEFAULTS, build_task, plugin_infos, provided  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from griffe_roles import plain_roles  # noqa: E402

#: Task plugin distributions of the project: documented when installed, listed when not.
KNOWN_TASK_PLUGINS = {
    "psychcore-tasks-classic": "plugins/tasks_classic: the PsychRNN and spikeRNN tasks",
    "psychcore-tasks-neurogym": "plugins/tasks_neurogym: every NeuroGym environment as a task "
                                "(its own environment; see its README)",
}
SEED = 0
_SECTION = re.compile(r"^(Args|Arguments|Attributes|Returns|Raises|Note|Notes|Example|Examples):$")
_ENTRY = re.compile(r"^    (\S[^:]*?):\s*(.*)$")


def markdown(doc: str) -> str:
    """A Google-style docstring as Markdown: roles as code, sections as headed lists."""
    doc = plain_roles(doc)
    out: list[str] = []
    in_section = False
    for line in doc.splitlines():
        m = _SECTION.match(line)
        if m:
            out += ["", f"**{m.group(1)}**", ""]
            in_section = True
            continue
        if in_section and line and not line.startswith(" "):
            in_section = False
            out.append("")
        if in_section:
            entry = _ENTRY.match(line)
            if entry:
                out.append(f"- `{entry.group(1)}`: {entry.group(2)}")
            else:
                out.append("  " + line.strip())
            continue
        out.append(line)
    return "\n".join(out).strip() + "\n"


def parameters(cls: type) -> str:
    """A Markdown table of the constructor's parameters and defaults."""
    rows = ["| parameter | default |", "| --- | --- |"]
    for name, p in inspect.signature(cls).parameters.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            rows.append(f"| `{'*' if p.kind is p.VAR_POSITIONAL else '**'}{name}` | |")
            continue
        if p.default is p.empty:
            default = (f"required (`{TASK_DEFAULTS[name]!r}` from the command line and sweeps)"
                       if name in TASK_DEFAULTS else "required")
        else:
            default = f"`{p.default!r}`"
        rows.append(f"| `{name}` | {default} |")
    return "\n".join(rows) + "\n"


def timing_figure(task: Task) -> tuple[bytes, dict]:
    """PNG of trial 0 of a seeded batch (inputs, target, mask), and that trial's parameters."""
    x, y, mask, params = task.get_trial_batch()
    t = task.time if hasattr(task, "time") else range(x.shape[1])
    fig, axes = plt.subplots(3, 1, figsize=(7, 5), sharex=True)
    for ax, data, label in ((axes[0], x[0], "input"), (axes[1], y[0], "target"),
                            (axes[2], mask[0], "mask")):
        for c in range(data.shape[1]):
            ax.plot(t, data[:, c], lw=1, label=f"{label} {c}")
        ax.set_ylabel(label)
        if data.shape[1] <= 6:
            ax.legend(loc="upper left", fontsize="x-small", ncol=min(data.shape[1], 6))
    axes[-1].set_xlabel("time (ms)")
    fig.suptitle(f"{type(task).__name__}: trial 0 of a batch drawn with seed {SEED}")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return buf.getvalue(), params[0]


def task_page(name: str, cls: type, plugin: str, dist: str) -> str:
    """The Markdown of one task's page (writes its figure as a side effect)."""
    task = build_task(name, {"N_batch": 8}, seed=SEED)
    png, trial = timing_figure(task)
    with mkdocs_gen_files.open(f"tasks/{name}.png", "wb") as fh:
        fh.write(png)
    lines = [f"# {name}", "",
             f"<!-- Generated at build time by docs/gen/gen_tasks.py from {dist}. -->", "",
             f"*{getattr(cls, 'description', '')}*", "",
             f"Provided by the plugin `{plugin}` (distribution `{dist}`); class "
             f"`{cls.__module__}.{cls.__qualname__}`. Build it with "
             f"`psychcore.get_task(\"{name}\")(...)` or train it with "
             f"`psychcore train {name}`.", "",
             "## Description", "", markdown(inspect.getdoc(cls) or "(no docstring)"),
             "## Accuracy criterion", ""]
    if type(task).accuracy_function is not Task.accuracy_function:
        lines.append(markdown(inspect.getdoc(cls.accuracy_function) or "(no docstring)"))
    else:
        lines.append("The task defines no `accuracy_function`: training stops on its loss "
                     "and budget only, and `performance_cutoff` is not available.\n")
    lines += ["## Parameters", "", parameters(cls),
              "## Timing diagram", "",
              f"One trial of `build_task(\"{name}\", {{\"N_batch\": 8}}, seed={SEED})` "
              f"(other parameters: dt={task.dt:g} ms, tau={task.tau:g} ms, T={task.T:g} ms): "
              "the inputs, the target and the loss mask over time.", "",
              f"![{name}: inputs, target and mask of one trial]({name}.png)", "",
              "The trial's parameters: " + ", ".join(
                  f"`{k}={_short(v)}`" for k, v in trial.items()) + ".", ""]
    return "\n".join(lines)


def _short(value: object) -> str:
    text = f"{value:.4g}" if isinstance(value, float) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def main() -> None:
    """Write every task page and the index."""
    index = ["# Tasks", "",
             "<!-- Generated at build time by docs/gen/gen_tasks.py from the installed task "
             "plugins. -->", "",
             "One page per task installed when these pages were built: its paper, what the "
             "network must do, how accuracy is scored, its parameters and a timing diagram of "
             "one trial. `psychcore tasks` lists the tasks of your own installation; "
             "[writing a task](../writing-a-task.md) and "
             "[writing a task plugin](../writing-a-task-plugin.md) add your own.", ""]
    installed = set()
    for info in sorted(plugin_infos(), key=lambda i: i.name):
        names = provided(info.name).get("task", [])
        if info.error is not None or not names:
            continue
        installed.add(info.distribution)
        index += [f"## {info.distribution} {info.version}", "",
                  "| task | description |", "| --- | --- |"]
        for name in names:
            cls = get_task(name)
            with mkdocs_gen_files.open(f"tasks/{name}.md", "w") as fh:
                fh.write(task_page(name, cls, info.name, info.distribution))
            index.append(f"| [{name}]({name}.md) | {getattr(cls, 'description', '')} |")
        index.append("")
    absent = []
    for dist, what in KNOWN_TASK_PLUGINS.items():
        if dist in installed:
            continue
        try:
            importlib.metadata.distribution(dist)
            state = "installed but not loaded (see `psychcore plugins`)"
        except importlib.metadata.PackageNotFoundError:
            state = "not installed where these pages were built"
        absent.append(f"- `{dist}` ({what}): {state}, so its tasks have no pages here.")
    if absent:
        index += ["## Task plugins without pages", ""] + absent + [""]
    with mkdocs_gen_files.open("tasks/index.md", "w") as fh:
        fh.write("\n".join(index))


main()
