"""The `download` stage under DVC with a GLUE directory that has a bad file (issue 25): the
experiment fails with the file's error, and data/glue keeps every byte of the last good
download, so that `dvc checkout` has nothing to restore. Then the same stage with a good
directory, and back: a kept (`persist`) output is still cached and checked out as any other.
Runs in a scratch git+DVC copy of the project, narrowed to three tasks."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from scratch_project import every_byte, git, run, scratch_project, sh

pytestmark = pytest.mark.slow
# RTE sits between two tasks, as in data.tasks: the one before it was rewritten by the old stage
# and the one after it was never written.
TASKS = ["cola", "rte", "wnli"]


def narrowed(preset: dict) -> None:
    preset.update(tasks=["rte"])
    preset["data"].update(tasks=TASKS)
    preset["data"]["synthetic"].update(train_rows=60, dev_rows=20, test_rows=20)


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """The project's tracked files with the demo preset narrowed to TASKS and small, its data
    downloaded by `dvc repro download` and committed, as a user would."""
    root = scratch_project(tmp_path_factory.mktemp("repo"), narrowed)
    sh("dvc", "repro", "download", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-qm", "downloaded", cwd=root)
    return root


def glue_directory(repo: Path, path: Path) -> Path:
    """The synthetic GLUE files of TASKS in the original layout, as a user's GLUE directory."""
    sh(sys.executable, "-m", "stages", "download", "--write-glue-dir", str(path), cwd=repo)
    return path


def test_a_bad_glue_file_under_dvc_keeps_the_data_and_checkout_has_nothing_to_do(repo, tmp_path):
    bad = glue_directory(repo, tmp_path / "bad")
    (bad / "RTE/train.tsv").write_bytes(b"index\tsentence1\n\x00\x01 not a GLUE file\n" * 20)
    before = every_byte(repo / "data/glue")
    assert sorted(p.name for p in (repo / "data/glue").iterdir()) == TASKS
    try:
        result = run("dvc", "exp", "run", "download", "-S", "data.source=dir", "-S", f"data.glue_dir={bad}", cwd=repo)
    finally:
        git("checkout", "--", "params.yaml", cwd=repo)
    assert result.returncode != 0, result.stdout[-3000:]
    assert f"error: {bad / 'RTE/train.tsv'}:" in result.stderr
    assert every_byte(repo / "data/glue") == before
    assert not [p.name for p in (repo / "data").iterdir() if p.name.startswith(".glue")]  # no temporary left
    sh("dvc", "checkout", "download", cwd=repo)  # without --force: nothing of data/glue is missing or changed
    assert every_byte(repo / "data/glue") == before
    assert "download" not in sh("dvc", "status", "download", cwd=repo)


def test_a_kept_output_is_still_cached_and_checked_out(repo, tmp_path):
    good = glue_directory(repo, tmp_path / "good")
    before = every_byte(repo / "data/glue")
    try:
        sh("dvc", "exp", "run", "download", "-S", "data.source=dir", "-S", f"data.glue_dir={good}", cwd=repo)
        from_dir = every_byte(repo / "data/glue")
        assert b'"source": "dir"' in from_dir["cola/report.json"]
        assert sorted(p.name for p in (repo / "data/glue").iterdir()) == TASKS
    finally:
        git("checkout", "--", "params.yaml", "dvc.lock", cwd=repo)
    sh("dvc", "checkout", "download", cwd=repo)  # the committed download, from DVC's cache
    assert every_byte(repo / "data/glue") == before
    assert "download" not in sh("dvc", "status", "download", cwd=repo)


@pytest.mark.parametrize("only", [[], ["cola", "rte"]], ids=["every-task", "some-tasks"])
def test_a_bad_glue_file_outside_dvc_keeps_the_data_too(repo, tmp_path, only):
    """Every task is checked before any is written: CoLA, read before RTE, is not rewritten."""
    bad = glue_directory(repo, tmp_path / "bad")
    (bad / "RTE/train.tsv").write_text("index\tsentence1\tsentence2\tlabel\n0\tA.\n1\tB.\n2\tC.\n")
    before = every_byte(repo / "data/glue")
    result = run(sys.executable, "-m", "stages", "download", "--glue-dir", str(bad),
                 *[arg for task in only for arg in ("--task", task)], cwd=repo)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: {bad / 'RTE/train.tsv'}:")
    assert every_byte(repo / "data/glue") == before
    assert not [p.name for p in (repo / "data").iterdir() if p.name.startswith(".glue")]


def test_download_of_some_tasks_replaces_those_alone(repo, tmp_path):
    good = glue_directory(repo, tmp_path / "good")
    before = every_byte(repo / "data/glue")
    try:
        sh(sys.executable, "-m", "stages", "download", "--glue-dir", str(good), "--task", "rte", cwd=repo)
        after = every_byte(repo / "data/glue")
        assert b'"source": "dir"' in after["rte/report.json"]
        assert {path: data for path, data in after.items() if not path.startswith("rte/")} == {
            path: data for path, data in before.items() if not path.startswith("rte/")}
    finally:
        sh("dvc", "checkout", "--force", "download", cwd=repo)
    assert every_byte(repo / "data/glue") == before
