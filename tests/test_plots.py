"""The two plotting functions draw on their own Figure: the user's matplotlib backend stays."""

import matplotlib
import pytest

from cch_jax import figure1
from cch_jax.criterion._result import CheckResult, Estimate

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def pdf_backend():
    """A non-Agg backend that needs no display; the previous one is restored afterwards."""
    before = matplotlib.get_backend()
    matplotlib.use("pdf")
    assert matplotlib.get_backend() == "pdf"
    yield "pdf"
    matplotlib.use(before)


def _check_result() -> CheckResult:
    def est(value, low, high):
        return Estimate(value, low, high)

    estimates = {
        ("rgb", "ksg"): dict(
            teacher_student=est(1.2, 1.0, 1.4),
            student_label=est(0.7, 0.6, 0.8),
            gap=est(0.5, 0.3, 0.7),
            allowance=0.1,
            verdict="holds",
        ),
        ("depth", "ksg"): dict(
            teacher_student=est(0.4, 0.3, 0.5),
            student_label=est(0.7, 0.6, 0.8),
            gap=est(-0.3, -0.45, -0.1),
            allowance=0.1,
            verdict="fails",
        ),
    }
    return CheckResult(
        label_kind="classes",
        teachers=("rgb", "depth"),
        estimators=("ksg",),
        label_estimator="ross",
        verdicts={"rgb": "holds", "depth": "fails"},
        ranking=("rgb", "depth"),
        estimates=estimates,
        n_rows=100,
        n_input=100,
        num_classes=3,
        level=0.9,
        repeats=4,
        subsample_fraction=0.5,
        notes=(),
        warnings=(),
        dims={},
        timings_s={},
        config={},
    )


def test_forest_plot_keeps_the_backend(pdf_backend, tmp_path):
    path = tmp_path / "forest.png"
    _check_result().plot(path)
    assert matplotlib.get_backend() == pdf_backend
    assert path.read_bytes()[:8] == PNG


def test_plot_figure1_keeps_the_backend(pdf_backend, tmp_path):
    config = figure1.Figure1Config(n=30, d=10, num_seeds=2, num_gaps=3, num_kd_weights=2)
    paths = figure1.plot_figure1(figure1.run_figure1(config), config, tmp_path / "fig1")
    assert matplotlib.get_backend() == pdf_backend
    assert [p.name for p in paths] == ["fig1.png", "fig1.pdf"]
    assert paths[0].read_bytes()[:8] == PNG
    assert paths[1].read_bytes()[:5] == b"%PDF-"
