from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from pipeline.atomic import atomic_path, replace, staging_dir, write_json


def test_file_appears_only_when_complete(tmp_path):
    target = tmp_path / "out.json"
    with atomic_path(target) as tmp:
        tmp.write_text("partial")
        assert not target.exists()
    assert target.read_text() == "partial"


def test_failure_keeps_the_previous_output_and_no_temporary(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "new.txt").write_text("new")
        raise RuntimeError("killed half-way")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert [p.name for p in target.iterdir()] == ["old.txt"]


def test_directory_is_replaced_whole_and_stale_temporaries_are_removed(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_text("old")
    (tmp_path / ".out.tmp-99999").mkdir()  # left by a writer that was killed
    with atomic_path(target) as tmp:
        tmp.mkdir()
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert [p.name for p in target.iterdir()] == ["new.txt"]


def test_write_json(tmp_path):
    write_json(tmp_path / "a" / "b.json", {"x": 1})
    assert (tmp_path / "a" / "b.json").read_text() == '{\n  "x": 1\n}\n'


@pytest.mark.parametrize("new_one_in_place", [False, True])
def test_a_checkpoint_replacement_killed_half_way_is_recovered(tmp_path, new_one_in_place):
    """Killed between `replace`'s two renames (or before removing the old one): the run finds
    the newest complete checkpoint, and nothing is left aside."""
    from accelerate import Accelerator

    from pipeline.atomic import previous_version
    from pipeline.results.summary import RunSummary
    from pipeline.training.checkpoints import Checkpoints

    def write_checkpoint(directory, step):
        directory.mkdir()
        summary = RunSummary("kd", "accuracy", None, None, None, None, 10, None, "rte", "dev", 100, 20)
        (directory / "progress.json").write_text(json.dumps({
            "step": step, "train_position": [0, step], "held_position": None, "summary": asdict(summary),
            "fingerprint": "inputs"}))

    checkpoints = Checkpoints(tmp_path, "inputs", Accelerator(cpu=True))
    aside = previous_version(checkpoints.latest)
    write_checkpoint(aside, 4)
    if new_one_in_place:
        write_checkpoint(checkpoints.latest, 8)
    assert checkpoints.find().step == (8 if new_one_in_place else 4)
    assert not aside.exists()


def test_a_staging_directory_is_built_beside_and_removed_whatever_happens(tmp_path):
    target = tmp_path / "glue"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), staging_dir(target) as staged:
        assert staged.parent == tmp_path and not any(staged.iterdir())
        (staged / "new.txt").write_text("new")
        raise RuntimeError("a bad file half-way")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["glue"]
    assert [p.name for p in target.iterdir()] == ["old.txt"]
    with staging_dir(target) as staged:
        (staged / "new.txt").write_text("new")
        replace(staged, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["glue"]
    assert [p.name for p in target.iterdir()] == ["new.txt"]
