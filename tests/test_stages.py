"""The data stages as DVC runs them: `python -m stages ...` in a scratch directory."""

from __future__ import annotations

import json

import datasets
import pytest
import yaml
from conftest import run_stage

pytestmark = pytest.mark.slow


def test_download_pretrained_tokenize_for_rte(small_params):
    cwd = small_params.parent
    # `pretrained` learns the tiny vocabulary from every task of data.tasks: download them all.
    for stage in (("download",), ("pretrained", "--task", "rte"), ("tokenize", "--task", "rte")):
        result = run_stage(*stage, cwd=cwd)
        assert result.returncode == 0, result.stderr
    report = json.loads((cwd / "data/glue/rte/report.json").read_text())
    assert report["source"] == "synthetic"
    assert report["splits"]["train"]["examples"] == 300
    assert report["splits"]["train"]["file"]["rows"] == 300 + sum(report["splits"]["train"]["file"]["skipped"].values())
    tokenized = datasets.load_from_disk(str(cwd / "data/tokenized/rte"))
    assert {name: len(split) for name, split in tokenized.items()} == {"train": 300, "dev": 60, "test": 40}
    assert {"input_ids", "attention_mask", "token_type_ids", "labels", "idx"} <= set(tokenized["train"].column_names)
    assert max(len(ids) for ids in tokenized["train"]["input_ids"]) <= 64
    assert set(tokenized["test"]["labels"]) == {-1}


def test_download_every_task_including_mnli_and_ax(small_params):
    cwd = small_params.parent
    for task in ("mnli", "ax"):
        assert run_stage("download", "--task", task, cwd=cwd).returncode == 0
    assert sorted(p.name for p in (cwd / "data/glue/mnli").iterdir()) == [
        "dev_matched.jsonl", "dev_mismatched.jsonl", "report.json", "test_matched.jsonl", "test_mismatched.jsonl", "train.jsonl",
        "truth",
    ]
    # The synthetic truth travels with the data: a true label for every test row.
    assert sorted(p.name for p in (cwd / "data/glue/mnli/truth").iterdir()) == [
        "flipped_dev_matched.tsv", "flipped_dev_mismatched.tsv", "flipped_test_matched.tsv", "flipped_test_mismatched.tsv",
        "flipped_train.tsv", "test_matched.tsv", "test_mismatched.tsv",
    ]
    test_rows = (cwd / "data/glue/mnli/test_matched.jsonl").read_text().count("\n")
    assert (cwd / "data/glue/mnli/truth/test_matched.tsv").read_text().count("\n") == test_rows + 1
    assert sorted(p.name for p in (cwd / "data/glue/ax").iterdir()) == ["report.json", "test.jsonl", "truth"]


def test_download_from_a_glue_directory_given_on_the_command_line(small_params, tmp_path):
    glue = tmp_path / "glue" / "RTE"
    glue.mkdir(parents=True)
    (glue / "train.tsv").write_text("index\tsentence1\tsentence2\tlabel\n0\tA.\tB.\tentailment\n1\tC.\tD.\tnot_entailment\n")
    (glue / "dev.tsv").write_text("index\tsentence1\tsentence2\tlabel\n0\tA.\tB.\tentailment\n")
    (glue / "test.tsv").write_text("index\tsentence1\tsentence2\n0\tA.\tB.\n")
    result = run_stage("download", "--task", "rte", "--glue-dir", str(tmp_path / "glue"), cwd=small_params.parent)
    assert result.returncode == 0, result.stderr
    lines = (small_params.parent / "data/glue/rte/train.jsonl").read_text().splitlines()
    assert [json.loads(line)["label"] for line in lines] == [0, 1]


def test_failed_download_leaves_no_output(small_params, tmp_path):
    glue = tmp_path / "glue" / "RTE"
    glue.mkdir(parents=True)
    (glue / "train.tsv").write_text("index\tsentence1\tsentence2\tlabel\n0\tA.\tB.\tentailment\n")
    # dev.tsv is missing: the stage must fail after writing train, and leave nothing behind.
    result = run_stage("download", "--task", "rte", "--glue-dir", str(tmp_path / "glue"), cwd=small_params.parent)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == f"error: {glue / 'dev.tsv'}: file not found; expected the RTE dev file of a GLUE directory"
    assert not (small_params.parent / "data" / "glue").exists() or not any((small_params.parent / "data" / "glue").iterdir())


def test_help_lists_the_stages(tmp_path):
    result = run_stage("--help", cwd=tmp_path)
    assert result.returncode == 0
    for stage in ("download", "pretrained", "tokenize"):
        assert stage in result.stdout


def test_download_is_byte_for_byte_reproducible(small_params):
    """The same seed writes the same files, report included: DVC then sees the same output."""
    cwd = small_params.parent
    contents = []
    for _ in range(2):
        assert run_stage("download", "--task", "rte", cwd=cwd).returncode == 0
        root = cwd / "data/glue/rte"
        contents.append({p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()})
    assert contents[0] == contents[1] and "truth/test.tsv" in contents[0]
    assert json.loads(contents[0]["report.json"])["splits"]["train"]["file"]["path"] == "synthetic:RTE/train.tsv"


def model_bytes(cwd) -> dict[str, bytes]:
    return {str(p.relative_to(cwd)): p.read_bytes() for p in sorted((cwd / "models").rglob("*.safetensors"))}


def test_a_stage_runs_the_same_kernels_whatever_the_machine_would_choose(small_params):
    """The machine's own choices (here: AVX2 kernels on two threads, as an AVX2 machine makes
    them) do not reach a stage: it writes the bytes it writes everywhere. LGTM_NATIVE_CPU=1
    lets them through, and the bytes change."""
    cwd = small_params.parent
    assert run_stage("download", cwd=cwd).returncode == 0
    machine = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "AVX2", "OMP_NUM_THREADS": "2",
               "MKL_NUM_THREADS": "2"}
    written = []
    for extra in ({}, machine, {**machine, "LGTM_NATIVE_CPU": "1"}):
        result = run_stage("pretrained", "--task", "rte", cwd=cwd, env=extra)
        assert result.returncode == 0, result.stderr[-2000:]
        written.append(model_bytes(cwd))
    assert written[0] == written[1] and len(written[0]) == 2
    assert written[2] != written[0]


def test_download_writes_the_synthetic_glue_files_for_people_to_read(small_params, tmp_path):
    result = run_stage("download", "--task", "rte", "--task", "mnli", "--write-glue-dir", str(tmp_path / "glue"),
                       cwd=small_params.parent)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "glue/RTE").iterdir()) == ["dev.tsv", "test.tsv", "train.tsv", "truth"]
    assert (tmp_path / "glue/MNLI/dev_mismatched.tsv").read_text().startswith("index\tpromptID\tpairID\tgenre")
    assert not (small_params.parent / "data").exists()  # the files only, no stage output


@pytest.mark.parametrize("edit", [lambda p: p["methods"].update(pretrained=["finetune"]),
                                  lambda p: p["lgtm"].update(influence_every=0)], ids=["no lgtm", "logging off"])
def test_the_influence_stage_says_there_is_nothing_to_report(small_params, edit):
    """Without LGTM runs that log influence, the DVC stage (no --task) writes one note and
    succeeds, so that `dvc repro` runs on; asked for a task, it names the missing file."""
    params = yaml.safe_load(small_params.read_text())
    edit(params)
    small_params.write_text(yaml.safe_dump(params, sort_keys=False))
    cwd = small_params.parent
    result = run_stage("influence", cwd=cwd)
    assert result.returncode == 0, result.stderr
    assert [p.name for p in (cwd / "reports/influence").iterdir()] == ["README.md"]
    asked = run_stage("influence", "--task", "rte", cwd=cwd)
    assert asked.returncode == 2 and "runs/lgtm/rte/influence.parquet: no influence rows" in asked.stderr
