"""The project's own hygiene: dependencies agree, lint passes, the package holds no solution."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

import autograder
from tests.conftest import REPO

EXERCISES = (
    # 01_numerical
    *("forward_difference", "central_difference", "numerical_gradient", "numerical_jacobian", "relative_error"),
    *("gradient_check", "step_size_errors", "best_step", "complex_step"),
    # 02_symbolic
    *("derivative_rules", "gradient_expr", "jacobian_expr", "hessian_expr", "logistic_map", "expression_swell"),
    "to_function",
    # 03_forward, 04_reverse
    *("Dual", "derivative", "jvp", "jacobian_forward", "tangent_trace"),
    *("Var", "grad", "vjp", "jacobian_reverse", "adjoint_trace"),
    # 05_vjp, 06_backprop, 07_higher_order
    *("unbroadcast", "Tensor", "matmul_vjp", "linear_backward", "quadratic_form_grad", "softmax_cross_entropy"),
    *("solve_vjp", "mlp_forward", "mlp_backward", "train", "hvp", "hessian", "newton_step", "no_grad", "checkpoint"),
    *("Linear", "ReLU", "Sequential", "gradient_cost_ratio"),
)


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[]", requirement.strip(), maxsplit=1)[0].lower()


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pip_side = {_name(r): r.replace(" ", "") for r in project["dependencies"] + project["optional-dependencies"]["dev"]}
    environment = yaml.safe_load((REPO / "environment.yml").read_text())
    conda_side = {
        _name(item): item.replace(" ", "")
        for item in environment["dependencies"]
        if isinstance(item, str) and _name(item) not in ("python", "pip")
    }
    assert conda_side == pip_side
    assert {"pip": ["--editable ."]} in environment["dependencies"], "conda must install the course package too"


def test_ruff_passes():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", str(REPO)], capture_output=True, text=True, cwd=REPO
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_package_defines_no_graded_exercise():
    """The installed package must not hand students a solution: no module defines an exercise's name."""
    defined = []
    for path in (REPO / "autograder").rglob("*.py"):
        text = path.read_text()
        for name in EXERCISES:
            if re.search(rf"^(def|class) {name}\b", text, flags=re.MULTILINE):
                defined.append(f"{path.relative_to(REPO)}: {name}")
    assert defined == [], "the autograder package defines graded exercises"
    assert autograder.__doc__


def test_ci_runs_exactly_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    assert "make test" in readme and "make demo" in readme
    first_commands = re.findall(r"^make \w+", readme, flags=re.MULTILINE)[:2]
    assert first_commands == ["make demo", "make test"]
    assert "make test" in (REPO / ".ci" / "run").read_text()


def test_binder_post_build_is_valid_bash_and_names_installed_nbgrader_plugins():
    post_build = REPO / "postBuild"
    assert post_build.stat().st_mode & 0o111, "repo2docker runs postBuild only if it is executable"
    subprocess.run(["bash", "-n", str(post_build)], check=True)
    plugins = re.findall(r"@jupyter/nbgrader:[\w-]+", post_build.read_text())
    bundle = Path(sys.prefix, "share", "jupyter", "labextensions", "@jupyter", "nbgrader", "static")
    installed = "".join(p.read_text(errors="replace") for p in bundle.glob("*.js"))
    assert plugins and all(f'"{plugin}"' in installed for plugin in plugins), "a typo disables nothing"
