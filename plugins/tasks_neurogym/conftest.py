"""Keep the plugin's tests out of runs where NeuroGym or the plugin is not installed.

NeuroGym pins numpy and gymnasium and imports torch, so it lives in its own virtual
environment (see README.md); the repository-wide test run, in the core's environment, skips
this folder instead of failing on the missing imports.
"""

from importlib.util import find_spec

collect_ignore_glob = (
    []
    if find_spec("neurogym") is not None and find_spec("psychcore_tasks_neurogym") is not None
    else ["tests/*", "psychcore_tasks_neurogym/*"]
)
