"""Build the course's zero-install JupyterLite site (`make site`).

The site holds the lecture notebooks (`notebooks/`), the released assignments (`release/`) and a
Pyodide kernel in which `import autograder` works. It is built in four steps:

1. stage the contents (`notebooks/`, `release/`) and build the `autograder` wheel from the repository;
2. put Pyodide's core runtime (the npm package `pyodide` at the kernel's `PYODIDE_VERSION`) in
   `site/static/pyodide/`, with the pure-Python wheels the kernel and the SymPy units need (from PyPI)
   and the `autograder` wheel, and rewrite Pyodide's lock file (`pyodide-lock.json`) for them:
   entries for the wheels shipped here get their file name and sha256, every other entry (numpy,
   matplotlib, ...) points at Pyodide's CDN, so those packages still load when the page is online;
3. `jupyter lite build` with `site/jupyter_lite_config.json` and `site/jupyter-lite.json`;
4. print the site's size.

Downloads (the npm tarball, the PyPI wheels) are cached in `site/.cache/`, so a rebuild needs no network.
The result, `site/_output/`, is a static folder: serve it with any web server
(`python -m http.server -d site/_output`). Units whose notebooks and checks need only SymPy and mpmath run
with no network at all; numpy and matplotlib come from Pyodide's CDN at run time.

`autograder` is in the lock file with `imports: ["autograder"]` and `depends: ["sympy"]`: the Pyodide
kernel loads packages named by a cell's imports before running the cell, so the first
`from autograder.checks... import ...` installs it, with SymPy; no `%pip install` is needed. It is not
in the piplite index: piplite would install it with the dependencies its metadata declares (JupyterLab,
nbgrader, ...), which do not exist in the browser.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

SITE = Path(__file__).resolve().parent
ROOT = SITE.parent
CACHE = SITE / ".cache"  # downloads kept between builds (gitignored)
STAGE = SITE / ".build"  # staged contents and the autograder wheel, rebuilt every time (gitignored)
PYODIDE_DIR = SITE / "static" / "pyodide"  # jupyterlite-pyodide-kernel's well-known local runtime
OUTPUT = SITE / "_output"

#: Packages of Pyodide's lock file shipped in the site, with their lock dependencies: what the kernel
#: loads at start (micropip, and through piplite: ipython, jedi; ipykernel and pyodide-kernel are
#: shims in the kernel's own piplite index) and what the SymPy units need.
SHIPPED_ROOTS = ("micropip", "packaging", "ipython", "jedi", "sympy")
#: Pure-Python wheels that are not in Pyodide's lock file but are needed: the kernel's
#: `pyodide-kernel` shim requires `comm`.
EXTRA_WHEELS: dict[str, list[str]] = {"comm": []}


def log(message: str) -> None:
    """Print one progress line of the build."""
    print(f"[site] {message}", flush=True)


def run(command: list[str], **kwargs: object) -> None:
    """Run a command, echoing it; raise `CalledProcessError` when it fails."""
    log("$ " + " ".join(str(part) for part in command))
    subprocess.run(command, check=True, **kwargs)  # type: ignore[call-overload]


def pip_env() -> dict[str, str]:
    """The environment for pip: the machine-wide constraint file would pin host (CPython 3.11) versions."""
    return {**os.environ, "PIP_CONSTRAINT": ""}


def pyodide_version() -> str:
    """The Pyodide version the installed jupyterlite-pyodide-kernel is built for (its `PYODIDE_VERSION`)."""
    from jupyterlite_pyodide_kernel.constants import PYODIDE_VERSION

    return PYODIDE_VERSION


def pyodide_python_version() -> str:
    """The Python version (major.minor) of that Pyodide, for `pip download --python-version`."""
    from jupyterlite_pyodide_kernel.constants import PYODIDE_PYTHON_VERSION

    return PYODIDE_PYTHON_VERSION


def stage_contents() -> Path:
    """Copy `notebooks/` and `release/` into a staging folder whose subfolders become the site's folders.

    JupyterLite copies the *contents* of each contents folder to the site's root, so the staging
    folder keeps the repository's folder names. Checkpoints and caches are left out.
    """
    contents = STAGE / "contents"
    shutil.rmtree(contents, ignore_errors=True)
    ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc")
    for name in ("notebooks", "release"):
        shutil.copytree(ROOT / name, contents / name, ignore=ignore)
    return contents


def build_autograder_wheel() -> Path:
    """Build the `autograder` wheel (`pip wheel --no-deps`) from a clean copy of the package; return its path.

    The copy keeps setuptools' `build/` folder out of the repository, and stale files in it out of the wheel.
    """
    source, wheels = STAGE / "autograder-src", STAGE / "wheels"
    for folder in (source, wheels):
        shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(ROOT / "autograder", source / "autograder", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(wheels), str(source)],
        env=pip_env(),
    )
    (wheel,) = wheels.glob("autograder-*.whl")
    return wheel


def pyodide_tarball(version: str) -> Path:
    """The npm package `pyodide@version` (Pyodide's core runtime, no packages), cached in `site/.cache/npm/`."""
    npm_cache = CACHE / "npm"
    tarball = npm_cache / f"pyodide-{version}.tgz"
    if not tarball.exists():
        if shutil.which("npm") is None:
            raise SystemExit("npm is needed once, to download Pyodide's runtime (npm pack pyodide): install Node.js")
        npm_cache.mkdir(parents=True, exist_ok=True)
        run(["npm", "pack", f"pyodide@{version}", "--pack-destination", str(npm_cache)], stdout=subprocess.DEVNULL)
    return tarball


def unpack_runtime(tarball: Path, dest: Path) -> dict:
    """Extract the runtime files of the npm tarball into `dest` (emptied first) and return its lock file."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    with tarfile.open(tarball) as archive:
        for member in archive.getmembers():
            name = member.name.removeprefix("package/")
            if not member.isfile() or "/" in name or name.endswith((".map", ".d.ts", ".html", ".md")):
                continue
            source = archive.extractfile(member)
            assert source is not None
            (dest / name).write_bytes(source.read())
    return json.loads((dest / "pyodide-lock.json").read_text())


def normalize(name: str) -> str:
    """A package name in PEP 503 normalized form, as the keys of Pyodide's lock file."""
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_closure(packages: dict[str, dict], roots: tuple[str, ...]) -> list[str]:
    """The lock-file keys of `roots` and of everything they depend on, in Pyodide's lock file."""
    found: set[str] = set()
    todo = [normalize(root) for root in roots]
    while todo:
        key = todo.pop()
        if key not in found:
            found.add(key)
            todo.extend(normalize(dependency) for dependency in packages[key]["depends"])
    return sorted(found)


def cached_wheel(name: str, version: str | None) -> Path | None:
    """The wheel of `name` (at `version`, if given) in `site/.cache/wheels`, or None."""
    prefix = re.sub(r"[-_.]+", "_", name).lower() + "-"
    for wheel in sorted((CACHE / "wheels").glob("*.whl")):
        if wheel.name.lower().startswith(prefix) and version in (None, wheel.name.split("-")[1]):
            return wheel
    return None


def download_wheels(wanted: dict[str, str | None]) -> dict[str, Path]:
    """Pure-Python wheels for Pyodide's Python, by name: `name==version` (the newest if None), cached.

    The missing ones are downloaded from PyPI in one `pip download`; if that fails, one by one, and a
    version PyPI does not have as a pure-Python wheel is replaced by the newest (the lock entry then
    gets the version of the wheel).
    """
    folder = CACHE / "wheels"
    folder.mkdir(parents=True, exist_ok=True)
    base = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
    base += ["--python-version", pyodide_python_version(), "--platform", "any", "--dest", str(folder)]
    missing = {name: version for name, version in wanted.items() if cached_wheel(name, version) is None}
    if missing:
        pins = [f"{name}=={version}" if version else name for name, version in missing.items()]
        try:
            run([*base, *pins], env=pip_env())
        except subprocess.CalledProcessError:
            for name, version in missing.items():
                try:
                    run([*base, f"{name}=={version}" if version else name], env=pip_env())
                except subprocess.CalledProcessError:
                    if version is None:
                        raise
                    log(f"{name}=={version} is not on PyPI as a pure-Python wheel: taking the newest")
                    run([*base, name], env=pip_env())
    found = {name: cached_wheel(name, version) or cached_wheel(name, None) for name, version in wanted.items()}
    absent = [name for name, wheel in found.items() if wheel is None]
    if absent:
        raise SystemExit(f"no pure-Python wheel downloaded for {absent}")
    return found  # type: ignore[return-value]


def sha256(path: Path) -> str:
    """The hex sha256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def top_level_imports(wheel: Path) -> list[str]:
    """The importable top-level names of a wheel (its packages and modules), for the lock's `imports`."""
    names = set()
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            first = name.split("/")[0]
            if first.endswith((".dist-info", ".data")):
                continue
            if "/" in name and name.endswith("__init__.py") and name.count("/") == 1:
                names.add(first)
            elif "/" not in name and name.endswith(".py"):
                names.add(name[:-3])
    return sorted(names)


def lock_entry(wheel: Path, name: str, depends: list[str], imports: list[str] | None = None) -> dict:
    """A `pyodide-lock.json` package entry for a pure-Python wheel placed next to the lock file."""
    return {
        "depends": depends,
        "file_name": wheel.name,
        "imports": imports if imports is not None else top_level_imports(wheel),
        "install_dir": "site",
        "name": name,
        "package_type": "package",
        "sha256": sha256(wheel),
        "unvendored_tests": False,
        "version": wheel.name.split("-")[1],
    }


def provide_runtime(autograder_wheel: Path) -> None:
    """Put Pyodide's runtime, the shipped wheels and the rewritten lock file in `site/static/pyodide/`."""
    version = pyodide_version()
    lock = unpack_runtime(pyodide_tarball(version), PYODIDE_DIR)
    packages: dict[str, dict] = lock["packages"]
    cdn = f"https://cdn.jsdelivr.net/pyodide/v{version}/full/"
    shipped = lock_closure(packages, SHIPPED_ROOTS)
    wheels = download_wheels(
        {packages[key]["name"]: packages[key]["version"] for key in shipped} | dict.fromkeys(EXTRA_WHEELS)
    )
    for key, entry in packages.items():
        if key in shipped:
            wheel = wheels[entry["name"]]
            shutil.copy2(wheel, PYODIDE_DIR / wheel.name)
            entry.update(file_name=wheel.name, sha256=sha256(wheel), version=wheel.name.split("-")[1])
            entry["unvendored_tests"] = False
        else:
            entry["file_name"] = cdn + entry["file_name"]
    for name, depends in EXTRA_WHEELS.items():
        shutil.copy2(wheels[name], PYODIDE_DIR / wheels[name].name)
        packages[normalize(name)] = lock_entry(wheels[name], name, depends)
    shutil.copy2(autograder_wheel, PYODIDE_DIR / autograder_wheel.name)
    packages["autograder"] = lock_entry(autograder_wheel, "autograder", ["sympy"], ["autograder"])
    (PYODIDE_DIR / "pyodide-lock.json").write_text(json.dumps(lock, indent=1, sort_keys=True))
    log(f"Pyodide {version}: {len(shipped) + len(EXTRA_WHEELS) + 1} packages shipped, the others from {cdn}")


def lite_build(contents: Path) -> None:
    """Run `jupyter lite build` in `site/` (configuration: jupyter_lite_config.json, jupyter-lite.json).

    The build starts from scratch: with doit's task database kept, a rebuild skipped the task that
    writes `pyodideUrl` into the rewritten jupyter-lite.json, and the page looked for Pyodide on its CDN.
    """
    shutil.rmtree(OUTPUT, ignore_errors=True)
    (SITE / ".jupyterlite.doit.db").unlink(missing_ok=True)
    command = [sys.executable, "-m", "jupyterlite_core", "build", "--lite-dir", str(SITE)]
    command += ["--contents", str(contents), "--output-dir", str(OUTPUT)]
    run(command, cwd=SITE)


def size_of(folder: Path) -> int:
    """The total size in bytes of the files under `folder`."""
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def main() -> None:
    """Build the site into `site/_output/` and print its size."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.parse_args()
    started = time.monotonic()
    contents = stage_contents()
    autograder_wheel = build_autograder_wheel()
    provide_runtime(autograder_wheel)
    lite_build(contents)
    seconds = time.monotonic() - started
    log(f"site built in {seconds:.0f} s: {OUTPUT.relative_to(ROOT)} holds {size_of(OUTPUT) / 1e6:.1f} MB")
    log(f"serve it with: python -m http.server -b 127.0.0.1 -d {OUTPUT.relative_to(ROOT)} 8000")


if __name__ == "__main__":
    main()
