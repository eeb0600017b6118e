"""The course directory: where it is, which assignments it has, and nbgrader's API on it."""

from __future__ import annotations

import logging
import os
import sys
import warnings
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

CONFIG_FILE = "nbgrader_config.py"


def find_root(start: str | os.PathLike[str] | None = None) -> Path:
    """The nearest folder at or above `start` (default: the working directory) with nbgrader_config.py.

    Raises FileNotFoundError when there is none.
    """
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise FileNotFoundError(f"no {CONFIG_FILE} in {here} or above: run this inside the course repository")


def assignments(root: Path) -> list[str]:
    """Assignment names: folders source/<name>/ holding <name>.ipynb, sorted."""
    return sorted(p.parent.name for p in (root / "source").glob("*/*.ipynb") if p.stem == p.parent.name)


def db_url(root: Path) -> str:
    """The gradebook's database URL: nbgrader's default SQLite file at the course root."""
    return f"sqlite:///{root / 'gradebook.db'}"


def load_config(root: Path) -> Config:
    """The course's nbgrader configuration, with the course root pinned to `root`."""
    config = PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    return config


def nbgrader_api(root: Path, quiet: bool = True, config: Config | None = None):  # -> nbgrader.apps.NbGraderAPI
    """nbgrader's Python API on the course at `root` (nbgrader's own logging silenced if `quiet`), with the
    course's configuration or `config`. nbgrader is imported here, lazily: it takes seconds."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    # nbgrader's gradebook code trips SQLAlchemy's autoflush warnings on every submission: noise.
    warnings.filterwarnings("ignore", message=".*not in session.*")
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    config = config if config is not None else load_config(root)
    (root / "exchange").mkdir(exist_ok=True)  # nbgrader's API complains at start-up without it
    log = logging.getLogger("nbgrader-course")
    log.setLevel(logging.ERROR if quiet else logging.INFO)
    coursedir = CourseDirectory(config=config)
    return NbGraderAPI(coursedir=coursedir, config=config, log=log)
