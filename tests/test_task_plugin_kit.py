"""The task-plugin kit: ``psychcore new task-plugin NAME`` (psychcore.scaffold).

``test_acceptance_new_install_test_list_train`` is issue 16's acceptance line as a test:
``psychcore new task-plugin timing`` -> ``pip install ./timing`` -> ``pytest timing`` passes ->
``psychcore tasks`` lists it -> ``psychcore train`` trains it on each installed backend. The
package is installed with pip into a private ``--target`` folder (no dependencies, no build
isolation: setuptools comes from the environment), never into the environment running the
tests; the commands run in subprocesses whose ``PYTHONPATH`` starts with that folder, so
``importlib.metadata`` finds the plugin's entry point there.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import psychcore
from psychcore.cli import main
from psychcore.scaffold import TASK_PLUGIN_FILES, task_plugin_names, write_task_plugin

CORE = str(Path(psychcore.__file__).resolve().parent.parent)


def _env(site: Path) -> dict[str, str]:
    paths = [str(site), CORE, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "PSYCHCORE_JAX_CACHE": "0",
            "TF_CPP_MIN_LOG_LEVEL": "3"}


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, (f"{' '.join(args)} exited {done.returncode}\n"
                                  f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done


def test_acceptance_new_install_test_list_train(tmp_path):
    assert main(["new", "task-plugin", "timing", "--dir", str(tmp_path / "timing")]) == 0
    site = tmp_path / "site"
    env = _env(site)
    _run(["-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
          "--no-warn-script-location", "--target", str(site), "./timing"], tmp_path, env)
    assert (site / "psychcore_timing" / "tasks.py").is_file()
    tests = _run(["-m", "pytest", "timing", "-q", "-p", "no:cacheprovider"], tmp_path, env)
    assert " passed" in tests.stdout and "failed" not in tests.stdout
    listed = _run(["-m", "psychcore.cli", "tasks"], tmp_path, env).stdout
    assert any(line.split()[:1] == ["Timing"] for line in listed.splitlines()), listed
    backends = sorted(psychcore.backends())
    assert backends, "no backend installed: nothing to train the task on"
    # the backends train at once, each in its own process
    procs = {b: subprocess.Popen(
        [sys.executable, "-m", "psychcore.cli", "train", "Timing", "--backend", b,
         "--iters", "256", "--N-rec", "16", "--no-progress", "--out", str(tmp_path / f"run-{b}")],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for b in backends}
    for backend, proc in procs.items():
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"training Timing on {backend} failed:\n{out[-3000:]}"
        assert "finished: 2 steps" in out, out
        assert (tmp_path / f"run-{backend}" / "run.json").is_file()


def test_the_package_has_every_file_and_valid_python(tmp_path):
    path = write_task_plugin("ready-set_go", tmp_path / "rsg")
    names = task_plugin_names("ready-set_go")
    assert names["class_name"] == "ReadySetGo" and names["package"] == "psychcore_ready_set_go"
    assert names["distribution"] == "psychcore-ready-set-go"
    written = sorted(p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file())
    assert written == sorted([
        "pyproject.toml", "README.md", "psychcore_ready_set_go/__init__.py",
        "psychcore_ready_set_go/plugin.py", "psychcore_ready_set_go/tasks.py",
        "tests/test_ready_set_go.py"]) and len(written) == len(TASK_PLUGIN_FILES)
    for py in path.rglob("*.py"):
        ast.parse(py.read_text(encoding="utf-8"), str(py))
    pyproject = (path / "pyproject.toml").read_text(encoding="utf-8")
    assert 'ready_set_go = "psychcore_ready_set_go.plugin"' in pyproject
    assert "$" not in "".join(p.read_text(encoding="utf-8") for p in path.rglob("*.*"))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if Path(ruff).is_file():
        # the package's own [tool.ruff] (line length 100), with the core's rules
        done = subprocess.run([ruff, "check", "--no-cache", "--select", "E,F,W,I,B,UP,N,SIM",
                               "--ignore", "N803", "."], cwd=path, capture_output=True,
                              text=True)
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_example_task_passes_the_conformance_suite(tmp_path, monkeypatch):
    from psychcore.testing import check_task

    write_task_plugin("timing", tmp_path / "timing")
    monkeypatch.syspath_prepend(str(tmp_path / "timing"))
    try:
        from psychcore_timing import Timing

        report = check_task(Timing(dt=10, tau=100, T=2000, N_batch=16, seed=0))
        assert not report.skipped, str(report)  # both batch paths and an accuracy: no skip
        task = Timing(dt=10, tau=100, T=2000, N_batch=8, seed=3)
        for vectorized in (True, False):
            x, y, mask, params = task.get_trial_batch(5, vectorized=vectorized)
            assert x.shape == y.shape == mask.shape == (8, 200, 1) and len(params) == 8
    finally:
        for name in [m for m in sys.modules if m.split(".")[0] == "psychcore_timing"]:
            del sys.modules[name]


def test_an_existing_directory_is_refused_and_an_empty_one_filled(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "timing").mkdir()
    assert main(["new", "task-plugin", "timing"]) == 0
    assert (tmp_path / "timing" / "psychcore_timing" / "tasks.py").is_file()
    before = (tmp_path / "timing" / "README.md").read_text(encoding="utf-8")
    capsys.readouterr()
    assert main(["new", "task-plugin", "timing"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("psychcore: error:") and "not an empty directory" in err
    assert (tmp_path / "timing" / "README.md").read_text(encoding="utf-8") == before
    (tmp_path / "file").write_text("x")
    assert main(["new", "task-plugin", "file"]) == 2


@pytest.mark.parametrize("name", ["9lives", "has space", "", "a.b", "none", "task", "-x"])
def test_invalid_names_are_refused(name, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["new", "task-plugin", name]) == 2
    err = capsys.readouterr().err
    assert "NAME" in err
    assert list(tmp_path.iterdir()) == []


def test_names_must_be_strings():
    with pytest.raises(TypeError, match="NAME"):
        task_plugin_names(3)  # type: ignore[arg-type]


def test_the_templates_are_package_data():
    """Every template ships in the wheel: pyproject's package-data glob matches it."""
    pyproject = Path(CORE) / "pyproject.toml"
    if not pyproject.is_file():
        pytest.skip("psychcore is installed outside its source tree")
    tomllib = pytest.importorskip("tomllib")
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    globs = data["tool"]["setuptools"]["package-data"]["psychcore"]
    folder = Path(psychcore.__file__).parent
    for template in TASK_PLUGIN_FILES:
        rel = Path("templates", "task_plugin", template)
        assert (folder / rel).is_file(), rel
        assert any(rel.match(g) for g in globs), f"{rel} is not in package-data {globs}"
