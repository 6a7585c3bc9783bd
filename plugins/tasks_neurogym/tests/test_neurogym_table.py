"""The shipped table (envs.json) and the README's table match the installed NeuroGym."""

from __future__ import annotations

import pytest

neurogym = pytest.importorskip("neurogym")

from psychcore_tasks_neurogym import env_table  # noqa: E402
from psychcore_tasks_neurogym.generate import (  # noqa: E402
    README_PATH,
    build_table,
    readme_with_table,
    table_markdown,
)

CONFORMANCE = "fails psychcore's task conformance suite"


@pytest.fixture(scope="module")
def fresh() -> dict:
    """The table rebuilt from the installed NeuroGym (the conformance suite runs in the
    conformance tests, on every registered task)."""
    return build_table(run_checks=False)


def test_shipped_table_matches_the_installed_neurogym(fresh: dict) -> None:
    shipped = env_table()
    assert shipped["neurogym_version"] == neurogym.__version__
    assert [e["id"] for e in shipped["envs"]] == [e["id"] for e in fresh["envs"]]
    for old, new in zip(shipped["envs"], fresh["envs"], strict=True):
        if old["reason"] and old["reason"].startswith(CONFORMANCE):
            old = {**old, "supported": True, "reason": None}
        assert old == new, (
            f"{old['id']} changed; regenerate with python -m psychcore_tasks_neurogym.generate"
        )


def test_every_environment_is_supported_or_says_why() -> None:
    for entry in env_table()["envs"]:
        assert entry["supported"] == (entry["reason"] is None), entry["id"]
        if not entry["supported"]:
            assert len(entry["reason"]) > 20, entry["id"]
    supported = [e for e in env_table()["envs"] if e["supported"]]
    assert len(supported) >= 40
    assert {"DelayComparison-v0", "PerceptualDecisionMaking-v0"} <= {e["id"] for e in supported}


def test_readme_table_is_up_to_date() -> None:
    readme = README_PATH.read_text(encoding="utf-8")
    assert table_markdown(env_table()) in readme
    assert readme_with_table(readme, env_table()) == readme

