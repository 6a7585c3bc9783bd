"""Regenerate ``envs.json`` and the README's environment table from the installed NeuroGym.

Run from anywhere, in the environment where NeuroGym is installed::

    python -m psychcore_tasks_neurogym.generate          # rewrite both files
    python -m psychcore_tasks_neurogym.generate --check  # exit 1 when either is out of date

Every id of ``neurogym.all_envs(collections=True)`` is built with its default arguments as a
:class:`~psychcore_tasks_neurogym.NeuroGymTask` and run through psychcore's task conformance
suite; an environment that cannot be built, whose trials cannot be batched or that fails a
check is listed as unsupported with the reason.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ._registry import _make_class, class_name
from ._task import NeuroGymTask, UnsupportedEnvironmentError, _quiet

PACKAGE_DIR = Path(__file__).resolve().parent
TABLE_PATH = PACKAGE_DIR / "envs.json"
README_PATH = PACKAGE_DIR.parent / "README.md"
START, END = "<!-- env-table:start -->", "<!-- env-table:end -->"

#: Environments whose action 0 is not "keep fixating" although they name no actions.
FIXATION_OVERRIDES: dict[str, int | None] = {
    # actions are "no tone", "tone 1/2/3", reported at any time: the choice is the last output
    "ToneDetection-v0": None,
}


def _env_ids() -> list[str]:
    with _quiet():
        from neurogym.envs.registration import all_envs

        return sorted(all_envs(collections=True))


def _description(env_id: str) -> str:
    if "." in env_id:  # a collection's factory function, e.g. yang19.dm1-v0
        collection, name = env_id.removesuffix("-v0").split(".", 1)
        return f"task {name} of NeuroGym's {collection} collection."
    with _quiet():
        from neurogym.envs.registration import ALL_EXTENDED_ENVS

    module, attr = ALL_EXTENDED_ENVS[env_id].split(":")
    doc = (getattr(__import__(module, fromlist=[attr]), attr).__doc__ or "").strip()
    line = " ".join(doc.split("\n\n")[0].split()) if doc else ""
    return line or attr


def _reason(env_id: str, exc: BaseException) -> str:
    message = str(exc).splitlines()[0]
    for prefix in (f"{env_id}'s ", f"{env_id} "):
        if message.startswith(prefix):
            message = message[len(prefix):]
    return message


def probe(env_id: str, run_checks: bool = True) -> dict[str, Any]:
    """Build ``env_id`` with its defaults and describe it as a table entry.

    Args:
        env_id: A NeuroGym environment id.
        run_checks: Also run psychcore's task conformance suite on it.

    Returns:
        The entry (see :func:`psychcore_tasks_neurogym.env_table`).
    """
    entry: dict[str, Any] = {
        "id": env_id, "supported": False, "reason": None, "action": None, "N_in": None,
        "N_out": None, "dt": None, "fixation_action": None, "max_trial_steps": None,
        "description": _description(env_id),
    }
    fixation = FIXATION_OVERRIDES.get(env_id, "auto")
    try:
        task = NeuroGymTask(env_id, N_batch=8, seed=0, fixation_action=fixation)
        task.get_trial_batch()
    except UnsupportedEnvironmentError as exc:
        entry["reason"] = _reason(env_id, exc)
        return entry
    except TypeError as exc:
        message = str(exc).split(": ", 1)[-1]
        entry["reason"] = f"cannot be built with its default arguments ({message})"
        return entry
    entry.update(
        action="discrete" if task.discrete else "continuous", N_in=task.N_in,
        N_out=task.N_out, dt=task.dt, fixation_action=task.fixation_action,
        max_trial_steps=task.max_trial_steps,
    )
    if run_checks:  # on the class that the plugin registers
        from psychcore.testing import check_task

        try:
            check_task(_make_class(entry)(N_batch=8, seed=0))
        except AssertionError as exc:
            entry["reason"] = "fails psychcore's task conformance suite: " + " ".join(
                str(exc).split()
            )
            return entry
    entry["supported"] = True
    return entry


def build_table(run_checks: bool = True) -> dict[str, Any]:
    """The table of every NeuroGym environment id, as shipped in ``envs.json``."""
    with _quiet():
        import neurogym

    return {
        "neurogym_version": neurogym.__version__,
        "envs": [probe(env_id, run_checks) for env_id in _env_ids()],
    }


def table_json(table: dict[str, Any]) -> str:
    """``envs.json``'s text."""
    return json.dumps(table, indent=1) + "\n"


def table_markdown(table: dict[str, Any]) -> str:
    """The README's table (between its markers)."""
    envs = table["envs"]
    n_ok = sum(e["supported"] for e in envs)
    lines = [
        START,
        f"NeuroGym {table['neurogym_version']}: {len(envs)} environment ids, {n_ok} registered "
        f"as tasks, {len(envs) - n_ok} unsupported.",
        "",
        "| environment id | psychcore task | in / out | dt (ms) | longest trial (steps) | notes |",
        "|---|---|---|---|---|---|",
    ]
    for e in envs:
        if e["supported"]:
            notes = []
            if e["action"] == "continuous":
                notes.append("continuous targets (MSE); no accuracy_function")
            elif e["fixation_action"] is None:
                notes.append("no fixation action: the choice is the last step's output")
            task = f"`neurogym:{e['id']}` (`{class_name(e['id'])}`)"
            sizes = f"{e['N_in']} / {e['N_out']}"
            row = (e["id"], task, sizes, f"{e['dt']:g}", str(e["max_trial_steps"]),
                   "; ".join(notes))
        else:
            row = (e["id"], "unsupported", "", "", "", e["reason"].replace("|", "\\|"))
        lines.append("| " + " | ".join(row) + " |")
    lines.append(END)
    return "\n".join(lines)


def readme_with_table(readme: str, table: dict[str, Any]) -> str:
    """``readme`` with the text between the table markers replaced."""
    start, end = readme.index(START), readme.index(END) + len(END)
    return readme[:start] + table_markdown(table) + readme[end:]


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when envs.json or the README table is out of date")
    args = parser.parse_args(argv)
    table = build_table()
    new_json = table_json(table)
    readme = README_PATH.read_text(encoding="utf-8")
    new_readme = readme_with_table(readme, table)
    if args.check:
        stale = [p.name for p, old, new in ((TABLE_PATH, TABLE_PATH.read_text(encoding="utf-8"),
                                             new_json), (README_PATH, readme, new_readme))
                 if old != new]
        if stale:
            print(f"out of date: {', '.join(stale)}; run python -m "
                  "psychcore_tasks_neurogym.generate")
            return 1
        print("envs.json and the README table match the installed NeuroGym")
        return 0
    TABLE_PATH.write_text(new_json, encoding="utf-8")
    README_PATH.write_text(new_readme, encoding="utf-8")
    n_ok = sum(e["supported"] for e in table["envs"])
    print(f"wrote {TABLE_PATH} and the table of {README_PATH}: {n_ok} of "
          f"{len(table['envs'])} environments supported")
    return 0


if __name__ == "__main__":
    sys.exit(main())
