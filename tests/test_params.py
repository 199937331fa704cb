"""params.yaml: the committed file is the demo composition, and bad params fail with one line per problem."""

from __future__ import annotations

import os

import pytest
import yaml
from conftest import REPO, run_stage
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from pipeline.errors import InputError
from pipeline.settings.params import validate_params


def composed(*overrides: str) -> dict:
    with initialize_config_dir(version_base=None, config_dir=str(REPO / "conf")):
        return OmegaConf.to_container(compose(config_name="config", overrides=list(overrides)))


def test_committed_params_are_the_demo_composition():
    assert yaml.safe_load((REPO / "params.yaml").read_text()) == composed()


@pytest.mark.parametrize("preset", ["demo", "paper", "real"])
def test_every_preset_is_complete_and_valid(preset):
    params = validate_params(composed(f"preset={preset}"))
    assert params.preset == preset


def test_paper_preset_has_the_authors_settings():
    paper = validate_params(composed("preset=paper"))
    assert (paper.model.teacher.name, paper.model.student.name) == ("bert-base-uncased", "google/bert_uncased_L-6_H-768_A-12")
    assert (paper.train.batch_size, paper.train.epochs, paper.data.max_seq_length) == (32, 6, 128)
    assert (paper.train.teacher_learning_rate, paper.train.adam_epsilon, paper.train.weight_decay) == (3e-5, 1e-6, 0.0)
    assert (paper.lgtm.temperature, paper.lgtm.alpha_kd, paper.lgtm.t_alpha_kd, paper.lgtm.radius) == (1.0, 1.0, 0.4, 0.01)
    assert (paper.kd.alpha_kd, paper.prokt.t_alpha_kd) == (1.0, 0.4)
    assert paper.held_out.source == "dev"
    assert (paper.train.optimizer, paper.train.eval_batch_size) == ("adamw_hf", 32)  # their optimizer, their command


@pytest.mark.parametrize("preset", ["demo", "paper"])
def test_every_preset_runs_the_authors_update_by_default(preset):
    params = validate_params(composed(f"preset={preset}"))
    assert (params.lgtm.mode, params.train.optimizer, params.held_out.source) == ("faithful", "adamw_hf", "dev")


def test_a_single_key_overrides_on_top_of_a_preset():
    assert validate_params(composed("preset=paper", "train.learning_rate=1e-4")).train.learning_rate == 1e-4


def test_float_written_in_exponent_form_is_a_float(demo_params):
    demo_params["train"]["learning_rate"] = "5e-05"  # how YAML 1.1 readers see DVC's `5e-05`
    assert validate_params(demo_params).train.learning_rate == 5e-5


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda p: p["train"].update(learning_rat=1e-4), r"train\.learning_rat: unknown key; allowed keys: batch_size, "),
        (lambda p: p.update(sed=1), r"sed: unknown key; allowed keys: preset, seed, "),
        (lambda p: p["train"].update(batch_size="big"), r"train\.batch_size: .*integer.* \(got 'big'\)"),
        (lambda p: p["train"].update(learning_rate="fast"), r"train\.learning_rate: .*number.* \(got 'fast'\)"),
        (lambda p: p.update(tasks=["mnli", "imdb"]), r"tasks\.1: expected one of 'cola', 'sst2', .* \(got 'imdb'\)"),
        (lambda p: p["methods"].update(teacher=["kd", "dkd"]),
         r"methods\.teacher\.1: expected one of 'finetune', 'kd', 'pkd', .*, 'metadistil' or 'lgtm' \(got 'dkd'\)"),
        (lambda p: p["methods"].update(teacher=["kd", "lgtm"]),
         r"methods\.teacher: lgtm starts from 'pretrained'; list it under methods\.pretrained"),
        (lambda p: p["launch"].update(workers=0), r"launch\.workers: expected a positive integer or 'auto' \(got 0\)"),
        (lambda p: p["train"].update(mixed_precision="fp16"),
         r"train\.mixed_precision: lgtm and metadistil take their teacher gradients .* use bf16 or no"),
        (lambda p: p["model"]["teacher"].update(pooling="mean"),
         r"model\.teacher\.pooling: mean leaves the teacher no pooler output, which PESF-KD reads; use cls, or leave "
         r"PESF-KD out of methods$"),
        (lambda p: p.update(preset="fast"), r"preset: expected one of 'demo', 'compare', 'paper' or 'real' \(got 'fast'\)"),
        (lambda p: p["held_out"].update(source="test"), r"held_out\.source: expected one of 'dev' or 'train_slice'"),
        (lambda p: p["data"].update(source="dir"), r"data\.glue_dir: required when data\.source is 'dir'$"),
        (lambda p: p["model"]["teacher"].update(hidden=100, heads=3),
         r"model\.teacher: hidden \(100\) must be a multiple of heads \(3\)$"),
        (lambda p: p["train"].pop("epochs"), r"train\.epochs: missing"),
    ],
)
def test_bad_params_name_the_key_and_what_is_allowed(demo_params, edit, message):
    edit(demo_params)
    with pytest.raises(InputError, match=message) as error:
        validate_params(demo_params)
    assert "\n" not in str(error.value)


def test_stage_exits_2_with_one_line_before_any_work(demo_params, tmp_path):
    demo_params["train"]["warmup_ratio"] = "lots"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(demo_params))
    result = run_stage("download", "--task", "rte", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: params.yaml: train.warmup_ratio: Input should be a valid number, unable to parse string as a number (got 'lots')"
    ]
    assert not (tmp_path / "data").exists()


def test_unknown_task_on_the_command_line_exits_2(small_params):
    result = run_stage("download", "--task", "imdb", cwd=small_params.parent)
    assert result.returncode == 2
    assert "unknown task 'imdb'; expected one of: cola, sst2" in result.stderr


def test_invalid_yaml_names_the_line(tmp_path):
    (tmp_path / "params.yaml").write_text("seed: 1\ntrain: [unclosed\n")
    result = run_stage("download", "--task", "rte", cwd=tmp_path)
    assert result.returncode == 2 and "params.yaml:3: not valid YAML" in result.stderr


def test_dvc_hydra_config_points_at_conf():
    config = (REPO / ".dvc" / "config").read_text()
    assert "enabled = true" in config and "config_dir = conf" in config
    assert os.path.isfile(REPO / "conf" / "preset" / "paper.yaml")


def test_every_problem_is_shown_one_a_line(demo_params):
    demo_params["train"]["learning_rat"] = demo_params["train"].pop("learning_rate")
    demo_params["seed"] = "forty-two"
    with pytest.raises(InputError) as error:
        validate_params(demo_params)
    assert str(error.value).splitlines() == [
        "params.yaml: train.learning_rat: unknown key; allowed keys: batch_size, eval_batch_size, learning_rate, "
        "teacher_learning_rate, epochs, warmup_ratio, optimizer, weight_decay, adam_beta1, adam_beta2, adam_epsilon, "
        "eval_steps, mixed_precision",
        "params.yaml: seed: Input should be a valid integer, unable to parse string as an integer (got 'forty-two')",
        "params.yaml: train.learning_rate: missing",
    ]


@pytest.mark.parametrize(("key", "edit"), [
    ("tasks", lambda p: p.update(tasks=["rte", "mrpc", "rte"])),
    ("data.tasks", lambda p: p["data"].update(tasks=[*p["data"]["tasks"], "rte"])),
    ("compare.seeds", lambda p: p["compare"].update(seeds=[1, 2, 1])),
])
def test_a_task_or_seed_listed_twice_is_refused(demo_params, key, edit):
    """Each entry is work done once: RTE listed twice would train twice, side by side, into one run directory."""
    edit(demo_params)
    with pytest.raises(InputError, match=rf"^params\.yaml: {key}: (rte|1) is listed twice; list each once \(got .*\)$"):
        validate_params(demo_params)


def test_a_method_listed_twice_is_named(demo_params):
    demo_params["methods"]["teacher"].append("kd")
    with pytest.raises(InputError, match=r"^params\.yaml: methods: kd listed twice; list each once$"):
        validate_params(demo_params)


def test_a_byte_that_is_not_utf8_is_placed_by_line_and_column(tmp_path):
    # On line 2, after "name: café " (11 characters, 12 bytes: é takes two).
    (tmp_path / "params.yaml").write_bytes(b"seed: 1\nname: caf\xc3\xa9 \x80x\n")
    result = run_stage("params", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: params.yaml: line 2, column 12: byte 0x80 is not UTF-8; save the file as UTF-8"]


@pytest.mark.parametrize(("role", "name", "message"), [
    ("teacher", "/nonexistent/dir", "model.teacher.name: /nonexistent/dir: no such directory"),
    ("student", "./models/none", "model.student.name: ./models/none: no such directory"),
    ("teacher", "runs/lgtm/rte", "model.teacher.name: runs/lgtm/rte: no such directory"),
    ("student", "params.yaml", "model.student.name: params.yaml: not a directory; a model is a directory or a hub id"),
])
def test_a_model_path_that_does_not_exist_is_a_path_error_not_a_hub_error(small_params, role, name, message):
    params = yaml.safe_load(small_params.read_text())
    params["model"][role]["name"] = name
    small_params.write_text(yaml.safe_dump(params))
    result = run_stage("params", cwd=small_params.parent, env={"HF_ENDPOINT": "http://127.0.0.1:9"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"error: {message}"]
    assert not (small_params.parent / "data").exists()


def test_check_says_what_the_stage_says_every_problem_and_writes_nothing(small_params):
    """Both the data source and each model: one line each, from the stage and from `check`."""
    params = yaml.safe_load(small_params.read_text())
    params["data"].update(source="dir", glue_dir="no-glue-here")
    params["model"]["teacher"]["name"] = "/nonexistent/dir"
    params["model"]["student"]["name"] = "../elsewhere"
    small_params.write_text(yaml.safe_dump(params))
    stage = run_stage("params", cwd=small_params.parent)
    checked = run_stage("check", cwd=small_params.parent)
    assert stage.returncode == checked.returncode == 2
    assert stage.stderr.splitlines() == checked.stderr.splitlines() == [
        "error: data.glue_dir: no-glue-here has no CoLA, SST-2, MRPC, STS-B, QQP, MNLI, QNLI, RTE, WNLI, diagnostic; "
        "expected the original GLUE directory (what download_glue_data.py writes)",
        "error: model.teacher.name: /nonexistent/dir: no such directory",
        "error: model.student.name: ../elsewhere: no such directory",
    ]
    assert sorted(path.name for path in small_params.parent.iterdir()) == ["params.yaml"]
