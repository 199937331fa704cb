"""The stages on the Rotten Tomatoes task (data.source: rotten_tomatoes), in a scratch directory:
its runs are scored and predicted like any task's, but make no benchmark-server zip, since its
test set is not GLUE's."""

from __future__ import annotations

import json

import pytest
import yaml
from conftest import run_stage, stage_test_params

pytestmark = pytest.mark.slow


def test_the_real_task_is_evaluated_and_predicted_but_not_zipped(tmp_path):
    params = stage_test_params()
    params.update(tasks=["sst2"], methods={"pretrained": ["finetune"], "teacher": [], "assistant": [], "anchors": []})
    params["data"].update(source="rotten_tomatoes", tasks=["sst2"], max_seq_length=32)
    params["data"]["rotten_tomatoes"]["train_rows"] = 64
    params["train"].update(epochs=1, eval_steps=4, batch_size=16, eval_batch_size=256)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    for stage in (("params",), ("download",), ("pretrained",), ("tokenize",), ("finetune-teacher",),
                  ("train", "--method", "finetune"), ("evaluate",)):
        result = run_stage(*stage, cwd=tmp_path)
        assert result.returncode == 0, f"{stage}: {result.stderr[-3000:]}"
    metrics = json.loads((tmp_path / "metrics/finetune/sst2.json").read_text())
    assert set(metrics["dev"]) == {"dev"} and "test" in metrics  # the true test labels sit beside the task
    assert 0.5 <= metrics["largest_predicted_class"]["dev"] <= 1.0
    rows = (tmp_path / "predictions/finetune/sst2/SST-2.tsv").read_text().splitlines()
    assert rows[0] == "index\tprediction" and len(rows) == 1 + 1207
    assert sorted(path.name for path in (tmp_path / "submissions").iterdir()) == ["README.txt"]
    assert "rotten_tomatoes is not GLUE's data" in (tmp_path / "submissions/README.txt").read_text()
