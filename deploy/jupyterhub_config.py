"""JupyterHub configuration for a class taking llm-course on one machine (or as a template for a cluster).

Run it as root (it starts each user's server as that Unix user)::

    jupyterhub -f deploy/jupyterhub_config.py

Everything site-specific comes from environment variables, so this file is used as it is:

================================  ==================================================================
``LLMCOURSE_INSTRUCTORS``         comma-separated Unix users who teach or TA: formgrader, course files
``LLMCOURSE_STUDENTS``            comma-separated Unix users who take the class (empty: any PAM user)
``LLMCOURSE_COURSE_ROOT``         the instructors' nbgrader course directory: a clone's ``assignments/``
                                  (default ``/srv/llm-course/assignments``), readable by instructors only
``LLMCOURSE_EXCHANGE``            nbgrader's exchange (default ``/srv/nbgrader/exchange``, mode 1777)
``LLMCOURSE_COURSE_ID``           the nbgrader course id (default ``llm-course``)
``COURSE_DATA_DIR``               the read-only dataset folder every kernel sees (default ``/srv/llm-course-data``)
``LLMCOURSE_PYTHON``              the course environment's Python (default: the hub's own)
``LLMCOURSE_MEM_LIMIT``           memory per user (default ``4G``), ``LLMCOURSE_CPU_LIMIT`` cores (default 2)
``LLMCOURSE_HUB_IP``/``_PORT``    where the hub listens (default ``127.0.0.1:8000``; put TLS in front)
================================  ==================================================================

Who sees what: students get JupyterLab with nbgrader's Assignments tab (fetch, submit, feedback) and without
formgrader; instructors get formgrader over ``LLMCOURSE_COURSE_ROOT``. The secrets (hidden graders, answer keys,
instructor sources, the gradebook) live only in the instructors' clone, whose permissions keep students out: hiding
formgrader's menu from students is convenience, the file modes are the protection. Students' environments hold the
student distribution (``course_lib``), never the grader.

Limits: ``mem_limit``/``cpu_limit`` are enforced by spawners that can (systemdspawner, DockerSpawner, KubeSpawner
under Zero to JupyterHub); the default ``LocalProcessSpawner`` records them but cannot enforce them.
"""

import os
import sys
from pathlib import Path

c = get_config()  # noqa: F821 (injected by traitlets when JupyterHub loads this file)

HERE = Path(__file__).resolve().parent
JUPYTER_CONFIG = HERE / "jupyter"  # nbgrader's exchange settings and the per-role Jupyter settings


def _names(variable: str) -> set[str]:
    return {name.strip() for name in os.environ.get(variable, "").split(",") if name.strip()}


INSTRUCTORS = _names("LLMCOURSE_INSTRUCTORS")
STUDENTS = _names("LLMCOURSE_STUDENTS")
COURSE_ID = os.environ.get("LLMCOURSE_COURSE_ID", "llm-course")
COURSE_ROOT = os.environ.get("LLMCOURSE_COURSE_ROOT", "/srv/llm-course/assignments")
EXCHANGE = os.environ.get("LLMCOURSE_EXCHANGE", "/srv/nbgrader/exchange")
DATA_DIR = os.environ.get("COURSE_DATA_DIR", "/srv/llm-course-data")
PYTHON = os.environ.get("LLMCOURSE_PYTHON", sys.executable)

c.JupyterHub.ip = os.environ.get("LLMCOURSE_HUB_IP", "127.0.0.1")
c.JupyterHub.port = int(os.environ.get("LLMCOURSE_HUB_PORT", "8000"))

# Real Unix accounts: PAM checks the password, LocalProcessSpawner starts the server as that user.
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.admin_users = INSTRUCTORS
if STUDENTS:
    c.Authenticator.allowed_users = INSTRUCTORS | STUDENTS
else:
    c.Authenticator.allow_all = True

c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [PYTHON, "-m", "jupyterhub.singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.mem_limit = os.environ.get("LLMCOURSE_MEM_LIMIT", "4G")
c.Spawner.cpu_limit = float(os.environ.get("LLMCOURSE_CPU_LIMIT", "2"))
c.Spawner.http_timeout = 120  # a first start imports torch and JupyterLab: slow on a busy 2-core machine
c.Spawner.start_timeout = 120


def course_environment(spawner) -> None:
    """Per-user settings: the role's Jupyter config dirs, nbgrader's exchange and course, the data folder."""
    instructor = spawner.user.name in INSTRUCTORS
    role = "instructor" if instructor else "student"
    config_path = [JUPYTER_CONFIG / role, JUPYTER_CONFIG / "common"]
    spawner.environment.update(
        {
            "JUPYTER_CONFIG_PATH": os.pathsep.join(str(p) for p in config_path),
            "LLMCOURSE_COURSE_ID": COURSE_ID,
            "LLMCOURSE_EXCHANGE": EXCHANGE,
            "COURSE_DATA_DIR": DATA_DIR,
            "COURSE_OFFLINE": "1",  # the class reads the mounted data folder; nothing downloads per user
            # the course environment's commands first: jupyter, nbgrader, llmcourse, and alembic, which nbgrader runs
            "PATH": os.pathsep.join([os.path.dirname(PYTHON), "/usr/local/bin", "/usr/bin", "/bin"]),
        }
    )
    if instructor:
        spawner.environment["LLMCOURSE_COURSE_ROOT"] = COURSE_ROOT


c.Spawner.pre_spawn_hook = course_environment
