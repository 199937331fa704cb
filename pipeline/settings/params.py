"""The schema of `params.yaml`, checked before any stage does work.

`conf/` holds the presets that DVC composes into `params.yaml` (`dvc exp run -S preset=paper`);
this module says what a valid composition is. Any unknown key, wrong type or unknown name is
reported on one line naming the key and what is allowed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, create_model, field_validator, model_validator

from pipeline.errors import InputError, not_utf8_at
from pipeline.glue.tasks import TASKS
from pipeline.methods.registry import METHODS
from pipeline.settings.section import Distinct, Section

TaskName = Literal[tuple(TASKS)]
TrainableTask = Literal[tuple(name for name, task in TASKS.items() if not task.predicted_with)]
MethodName = Literal[tuple(METHODS)]


class SyntheticParams(Section):
    seed: int
    real_sizes: bool = Field(description="write the real GLUE row counts (MNLI: 392,702 train rows)")
    train_rows: int = Field(gt=0)
    dev_rows: int = Field(gt=0)
    test_rows: int = Field(gt=0)
    label_noise: float = Field(ge=0.0, lt=1.0)
    defect_rate: float = Field(ge=0.0, lt=0.5)


class RottenTomatoesParams(Section):
    """The Rotten Tomatoes task (pipeline/glue/rotten_tomatoes.py): which movies go to dev and
    test, and how many training rows are kept."""

    seed: int
    train_rows: int | None = Field(gt=0, description="the first N rows of the shuffled train split; "
                                                                     "null: all 10,129")


class DataParams(Section):
    source: Literal["synthetic", "dir", "hub", "rotten_tomatoes"]
    glue_dir: str | None
    tasks: Distinct[TaskName] = Field(min_length=1)
    max_malformed_fraction: float = Field(ge=0.0, le=1.0)
    max_seq_length: int = Field(gt=8)
    synthetic: SyntheticParams
    rotten_tomatoes: RottenTomatoesParams

    @model_validator(mode="after")
    def _dir_needs_path(self) -> DataParams:
        if self.source == "dir" and not self.glue_dir:
            raise ValueError("data.glue_dir: required when data.source is 'dir'")
        return self

    @model_validator(mode="after")
    def _rotten_tomatoes_is_one_task(self) -> DataParams:
        if self.source == "rotten_tomatoes" and self.tasks != ["sst2"]:
            raise ValueError("data.tasks: the rotten_tomatoes source makes one task, in SST-2's layout: [sst2]")
        return self


class ModelSpec(Section):
    """A hub id, a local path, `package:NAME` (the checkpoint an installed pip package ships,
    pipeline/models/packaged.py), or `tiny` (a randomly initialised BERT of the given shape)."""

    name: str = Field(min_length=1)
    layers: int | None = Field(default=None, gt=0)
    hidden: int | None = Field(default=None, gt=0)
    heads: int | None = Field(default=None, gt=0)
    intermediate: int | None = Field(default=None, gt=0)
    # Keep only the first N encoder layers of the checkpoint (a student cut from a teacher).
    keep_layers: int | None = Field(default=None, gt=0)
    # What the classifier reads: BERT's pooler over [CLS], or the mean of the last layer's token
    # vectors (pipeline/models/mean_pooled.py; BERT-like models only).
    pooling: Literal["cls", "mean"] = "cls"

    @property
    def is_tiny(self) -> bool:
        return self.name == "tiny"

    @model_validator(mode="after")
    def _tiny_needs_shape(self) -> ModelSpec:
        if self.is_tiny:
            missing = [k for k in ("layers", "hidden", "heads", "intermediate") if getattr(self, k) is None]
            if missing:
                raise ValueError(f"{', '.join(missing)}: required when name is 'tiny'")
            if self.hidden % self.heads:
                raise ValueError(f"hidden ({self.hidden}) must be a multiple of heads ({self.heads})")
            if self.keep_layers is not None:
                raise ValueError("keep_layers: only for a checkpoint; a tiny model sets layers")
        return self


class TinyPretrainingParams(Section):
    """Masked-LM pre-training of `tiny` models on the task's training text (0 steps: none)."""

    steps: int = Field(ge=0)
    batch_size: int = Field(gt=0)
    learning_rate: float = Field(gt=0.0)


class ModelParams(Section):
    teacher: ModelSpec
    student: ModelSpec
    tiny_vocab_size: int = Field(gt=100)
    tiny_pretraining: TinyPretrainingParams

    def checkpoint_names(self) -> dict[str, str]:
        """The models read from a directory or the hub (not `tiny`), by the key that names them."""
        specs = {"model.teacher.name": self.teacher, "model.student.name": self.student}
        return {key: spec.name for key, spec in specs.items() if not spec.is_tiny}


class TrainParams(Section):
    """The training loop and both optimizers, shared by every method."""

    batch_size: int = Field(gt=0)
    eval_batch_size: int = Field(gt=0)
    learning_rate: float = Field(gt=0.0, description="student")
    teacher_learning_rate: float = Field(gt=0.0)
    epochs: float = Field(gt=0.0)
    warmup_ratio: float = Field(ge=0.0, lt=1.0)
    optimizer: Literal["adamw_hf", "adamw_torch"] = Field(description="the authors': adamw_hf (pipeline/optim.py)")
    weight_decay: float = Field(ge=0.0)
    adam_beta1: float = Field(ge=0.0, lt=1.0)
    adam_beta2: float = Field(ge=0.0, lt=1.0)
    adam_epsilon: float = Field(gt=0.0)
    eval_steps: int = Field(gt=0)
    mixed_precision: Literal["no", "fp16", "bf16"]


class HeldOutParams(Section):
    """Where held-out batches (LGTM's) and the checkpoint selection come from, for every method."""

    source: Literal["dev", "train_slice"]
    fraction: float = Field(gt=0.0, lt=1.0, description="of train, held out when source is train_slice")


class MethodGroups(Section):
    """Which methods train, grouped by what their runs start from (MethodInfo.starts_from):
    each group is a stage of dvc.yaml, which waits for that and nothing else."""

    pretrained: list[MethodName] = Field(description="from the pre-trained checkpoints alone")
    teacher: list[MethodName] = Field(description="from the teacher fine-tuned alone")
    assistant: list[MethodName] = Field(description="from an assistant distilled from the fine-tuned teacher")
    anchors: list[MethodName] = Field(description="from checkpoints along the teacher's fine-tuning")

    @model_validator(mode="after")
    def _each_in_its_group(self) -> MethodGroups:
        for group in type(self).model_fields:
            for name in getattr(self, group):
                if METHODS[name].starts_from != group:
                    raise ValueError(f"methods.{group}: {name} starts from {METHODS[name].starts_from!r}; "
                                     f"list it under methods.{METHODS[name].starts_from}")
        names = [name for group in type(self).model_fields for name in getattr(self, group)]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"methods: {', '.join(repeated)} listed twice; list each once")
        if not names:
            raise ValueError("methods: no method to train")
        return self

    def all(self) -> list[str]:
        """Every listed method, in the results table's order."""
        listed = {name for group in type(self).model_fields for name in getattr(self, group)}
        return [name for name in METHODS if name in listed]


class LaunchParams(Section):
    """How a stage starts its runs. `workers` and `checkpoint_steps` change no result: each run
    is one process on one CPU thread (stages/environment.py), whatever runs beside it. `processes`
    and `config_file` start each run under `accelerate launch` (pipeline/launch.py): the same
    global batch split across the processes, which changes results only by float reductions and
    dropout streams (docs/design.md), so a run's fingerprint holds its process count."""

    workers: int | str = Field(description="runs at once in a stage; auto: one per CPU core")
    checkpoint_steps: int = Field(ge=0, description="steps between checkpoints a rerun resumes from; 0: none")
    processes: int = Field(ge=1, description="processes per run (one per GPU; gloo on CPU); 1: no launcher")
    config_file: str | None = Field(description="an accelerate config file (multi-node); it sets the processes")

    @field_validator("workers", mode="before")
    @classmethod
    def _positive_or_auto(cls, value):
        if value != "auto" and not (isinstance(value, int) and not isinstance(value, bool) and value > 0):
            raise ValueError("expected a positive integer or 'auto'")
        return value

    def worker_count(self, jobs: int) -> int:
        """How many of `jobs` run at once."""
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        return min(jobs, cores if self.workers == "auto" else self.workers)


class CompareParams(Section):
    """The grid `make compare` runs as DVC experiments (pipeline/compare.py): every seed, student
    learning rate, held-out source and LGTM mode of its preset. No stage reads it."""

    seeds: Distinct[int] = Field(min_length=1)
    learning_rates: Distinct[float] = Field(min_length=1, description="the student's (train.learning_rate)")
    held_out: Distinct[Literal["dev", "train_slice"]] = Field(min_length=1)
    lgtm_modes: Distinct[Literal["faithful", "fast"]] = Field(min_length=1)


class CommonParams(Section):
    """Every section but the methods' own, which `Params` adds from the registry."""

    preset: Literal["demo", "compare", "paper", "real"]
    seed: int
    hub_timeout_s: float = Field(gt=0.0, le=25.0)
    tasks: Distinct[TrainableTask] = Field(min_length=1)
    methods: MethodGroups
    data: DataParams
    model: ModelParams
    train: TrainParams
    held_out: HeldOutParams
    launch: LaunchParams
    compare: CompareParams

    @model_validator(mode="after")
    def _trained_tasks_are_downloaded(self) -> CommonParams:
        missing = [task for task in self.tasks if task not in self.data.tasks]
        if missing:
            raise ValueError(f"data.tasks: must include every task in tasks; missing {', '.join(missing)}")
        return self

    @model_validator(mode="after")
    def _no_hand_made_gradients_under_loss_scaling(self) -> CommonParams:
        # fp16's scaler divides every gradient by its scale at the optimizer step, including
        # gradients set by hand that were never scaled.
        hand_made = sorted(name for name in self.methods.all() if METHODS[name].makes_teacher_gradients)
        if hand_made and self.train.mixed_precision == "fp16":
            raise ValueError(
                f"train.mixed_precision: {' and '.join(hand_made)} take their teacher gradients with "
                "torch.autograd.grad, outside fp16's loss scaler; use bf16 or no"
            )
        return self

    @model_validator(mode="after")
    def _pooler_readers_have_a_pooler(self) -> CommonParams:
        readers = sorted(METHODS[name].label for name in self.methods.all() if METHODS[name].reads_teacher_pooler)
        if readers and self.model.teacher.pooling == "mean":
            named = " and ".join(readers)
            raise ValueError(f"model.teacher.pooling: mean leaves the teacher no pooler output, which {named} reads; "
                             f"use cls, or leave {named} out of methods")
        return self

    @model_validator(mode="after")
    def _batches_split_evenly(self) -> CommonParams:
        # Each global batch is split across the processes (pipeline/training/loop.py).
        processes = self.launch.processes
        for key in ("batch_size", "eval_batch_size"):
            if getattr(self.train, key) % processes:
                raise ValueError(f"train.{key}: {getattr(self.train, key)} rows do not split evenly across "
                                 f"launch.processes={processes}; use a multiple of {processes}")
        return self

    def method_settings(self, method: str) -> Section:
        """The params section of `method` (a name of pipeline/methods/registry.py)."""
        return getattr(self, method)

    def teacher_anchors(self) -> int:
        """How many anchors finetune-teacher saves: the most a method of methods.anchors uses."""
        return max((self.method_settings(name).anchors for name in self.methods.anchors), default=0)


# Each method's own section, named like it, after the common ones, in the table's row order.
Params = create_model("Params", __base__=CommonParams, __module__=__name__,
                      __doc__="params.yaml: the common sections, then each method's own (pipeline/methods/).",
                      **{name: (info.settings, ...) for name, info in METHODS.items()})


def _describe(error: dict) -> str:
    location = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        parent = error["loc"][:-1]
        model = Params
        for part in parent:
            annotation = model.model_fields[part].annotation
            model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
            if model is None:
                break
        allowed = f"; allowed keys: {', '.join(model.model_fields)}" if model else ""
        return f"{location}: unknown key{allowed}"
    if error["type"] == "missing":
        return f"{location}: missing"
    got = error.get("input")
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "literal_error":
        message = message.replace("Input should be", "expected one of")
    if not location or message.startswith((f"{location}:", f"{location}.")):
        return message  # a section's own check, which names its keys
    # A whole section as the value says nothing the message does not.
    return f"{location}: {message}" if isinstance(got, dict) else f"{location}: {message} (got {got!r})"


def validate_params(data: object, source: str = "params.yaml") -> Params:
    """`data` as Params, or an InputError with every problem, one a line, each naming its key."""
    if not isinstance(data, dict):
        raise InputError(f"{source}: expected a mapping of keys, got {type(data).__name__}")
    try:
        return Params.model_validate(data)
    except ValidationError as error:
        # Unknown keys first: a typo also makes the key it misspells missing, and the unknown
        # key's message names the allowed ones.
        errors = sorted(error.errors(), key=lambda e: e["type"] != "extra_forbidden")
        raise InputError("\n".join(f"{source}: {_describe(e)}" for e in errors)) from None


CONF_DIR = Path(__file__).resolve().parents[2] / "conf"


def compose(*overrides: str, conf_dir: Path = CONF_DIR) -> dict:
    """params.yaml as DVC composes it from conf/ (`dvc exp run -S KEY=VALUE` passes overrides)."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from omegaconf import OmegaConf

    with initialize_config_dir(version_base=None, config_dir=str(Path(conf_dir).resolve())):
        return OmegaConf.to_container(hydra_compose(config_name="config", overrides=list(overrides)))


def load_preset(name: str) -> Params:
    """A preset's composition, validated: e.g. the paper's settings for the benchmark."""
    return validate_params(compose(f"preset={name}"), f"conf/preset/{name}.yaml")


def read_params_file(path: str | Path = "params.yaml") -> dict:
    """params.yaml's keys as written, before any check of what they say."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: not found; run from the repository root, where params.yaml is")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line, column = not_utf8_at(data, error.start)
        raise InputError(f"{path}: line {line}, column {column}: byte 0x{data[error.start]:02x} is not UTF-8; "
                         "save the file as UTF-8") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise InputError(f"{path}{where}: not valid YAML ({getattr(error, 'problem', error)})") from None


def load_params(path: str | Path = "params.yaml") -> Params:
    return validate_params(read_params_file(path), str(path))
