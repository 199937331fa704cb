"""The defaults are the authors' computation: their optimizer, and three whole LGTM steps of the
`paper` preset, dropout on, against the reference implementations of both (reference/), in
float64."""

from __future__ import annotations

import copy

import datasets
import pytest
import torch
from accelerate import Accelerator
from test_lgtm_gradient import batch, tiny_bert
from torch.utils.data import DataLoader
from transformers import DataCollatorWithPadding, get_scheduler

from pipeline.methods.registry import STEPS
from pipeline.models.tiny import train_wordpiece_tokenizer
from pipeline.optim import AdamWHF
from pipeline.settings.params import load_preset
from pipeline.training.batches import BatchStream
from pipeline.training.loop import held_out_loader, setup
from reference.lgtm_authors import KdWeights, lgtm_iteration
from reference.transformers_adamw import Transformers4AdamW


def relative_gap(got: list[torch.Tensor], expected: list[torch.Tensor]) -> float:
    """‖got − expected‖ / ‖expected‖ over all tensors together."""
    difference = torch.sqrt(sum(((g - e) ** 2).sum() for g, e in zip(got, expected)))
    return (difference / torch.sqrt(sum((e**2).sum() for e in expected))).item()


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_adamw_hf_is_transformers_adamw(weight_decay):
    """Five steps with the same gradients, float64: every parameter and moment as the literal
    transformers 4.x AdamW's update rule leaves them (eps before bias correction, decay after
    the update)."""
    generator = torch.Generator().manual_seed(0)
    shapes = [(7, 3), (3,), (2, 2, 2)]
    start = [torch.randn(shape, generator=generator, dtype=torch.float64) for shape in shapes]
    ours = [p.clone().requires_grad_() for p in start]
    theirs = [p.clone().requires_grad_() for p in start]
    settings = dict(lr=3e-3, betas=(0.9, 0.98), eps=1e-6, weight_decay=weight_decay)
    optimizers = AdamWHF(ours, **settings), Transformers4AdamW(theirs, **settings)
    for _ in range(5):
        grads = [torch.randn(shape, generator=generator, dtype=torch.float64) for shape in shapes]
        for params, optimizer in zip((ours, theirs), optimizers):
            for param, grad in zip(params, grads):
                param.grad = grad.clone()
            optimizer.step()
    assert relative_gap([p - s for p, s in zip(ours, start)], [p - s for p, s in zip(theirs, start)]) < 1e-12
    for mine, literal in zip(ours, theirs):
        mine_state, literal_state = optimizers[0].state[mine], optimizers[1].state[literal]
        assert mine_state["step"] == literal_state["step"] == 5
        torch.testing.assert_close(mine_state["exp_avg_sq"], literal_state["exp_avg_sq"], rtol=1e-14, atol=0)
    # And it is not torch's AdamW, whose eps acts after bias correction.
    torch_params = [p.clone().requires_grad_() for p in start]
    torch_optimizer = torch.optim.AdamW(torch_params, **settings)
    generator.manual_seed(0)
    [torch.randn(shape, generator=generator) for shape in shapes]  # the start values, drawn again
    for _ in range(5):
        grads = [torch.randn(shape, generator=generator, dtype=torch.float64) for shape in shapes]
        for param, grad in zip(torch_params, grads):
            param.grad = grad.clone()
        torch_optimizer.step()
    assert relative_gap([p - s for p, s in zip(torch_params, start)], [p - s for p, s in zip(theirs, start)]) > 1e-6


def held_out_split(tokenizer) -> datasets.Dataset:
    """Four held-out rows of different lengths: at batch 3, the stream wraps at the third step."""
    generator = torch.Generator().manual_seed(5)
    rows = {"input_ids": [], "token_type_ids": [], "attention_mask": [], "labels": []}
    for length in (7, 5, 9, 6):
        ids = torch.randint(5, 50, (length,), generator=generator).tolist()
        rows["input_ids"].append(ids)
        rows["token_type_ids"].append([0] * length)
        rows["attention_mask"].append([1] * length)
        rows["labels"].append(int(torch.randint(0, 3, (1,), generator=generator)))
    return datasets.Dataset.from_dict(rows)


def authors_held_out_batches(dataset, tokenizer, batch_size):
    """The authors' held-out stream (twinkle0331/LGTM run_glue.py lines 620, 656, 688-692): the
    evaluation loader's batches in order, from the first again once the last has been drawn."""
    loader = DataLoader(dataset, collate_fn=DataCollatorWithPadding(tokenizer), batch_size=batch_size)
    while True:
        yield from (dict(held) for held in loader)


@pytest.mark.parametrize("mode", ["faithful", "fast"])
def test_three_paper_steps_are_the_authors_steps(mode):
    params = load_preset("paper")
    train, lgtm = params.train, params.lgtm
    # The preset is the authors' setting, which their code takes from transformers' AdamW defaults.
    assert (train.optimizer, train.adam_epsilon, train.weight_decay, train.warmup_ratio) == ("adamw_hf", 1e-6, 0.0, 0.0)
    assert lgtm.mode == "faithful"
    train = train.model_copy(update={"eval_batch_size": 3})
    settings = lgtm.model_copy(update={"mode": mode})
    teacher, student = tiny_bert(2, 16, seed=1, dropout=0.1), tiny_bert(1, 8, seed=2, dropout=0.1)
    their_teacher, their_student = copy.deepcopy(teacher), copy.deepcopy(student)
    start = [p.detach().clone() for p in [*teacher.parameters(), *student.parameters()]]
    tokenizer = train_wordpiece_tokenizer(["the dog found the ball"], 50)
    held = held_out_split(tokenizer)
    batches = [batch(10 + i, size=4) for i in range(3)]

    # The project's: the training loop's set-up and held-out stream, the method's step.
    accelerator = Accelerator(cpu=True)
    lgtm_step = STEPS["lgtm"]()
    ctx = setup(lgtm_step, student, teacher, train=train, settings=settings, student_learning_rate=train.learning_rate,
                total_steps=10, accelerator=accelerator)
    held_stream = BatchStream(accelerator.prepare(held_out_loader(held, tokenizer, train)), accelerator)
    for i, b in enumerate(batches):
        h = next(held_stream)
        torch.manual_seed(1000 + i)  # the same dropout masks on both sides
        lgtm_step.step(ctx, dict(b), h)

    # The authors': their optimizers and schedules (run_glue.py), their step.
    optimizer = Transformers4AdamW(their_student.parameters(), lr=train.learning_rate)
    t_optimizer = Transformers4AdamW(their_teacher.parameters(), lr=train.teacher_learning_rate)
    lr_scheduler, t_lr_scheduler = (get_scheduler("linear", o, num_warmup_steps=10 * train.warmup_ratio,
                                                  num_training_steps=10) for o in (optimizer, t_optimizer))
    weights = KdWeights(settings.alpha_kd, settings.t_alpha_kd, settings.temperature)
    their_held = authors_held_out_batches(held, tokenizer, train.eval_batch_size)
    for i, b in enumerate(batches):
        h = next(their_held)
        torch.manual_seed(1000 + i)
        lgtm_iteration(their_teacher, their_student, teacher_optimizer=t_optimizer, teacher_schedule=t_lr_scheduler,
                       student_optimizer=optimizer, student_schedule=lr_scheduler, batch=dict(b), held_batch=h,
                       weights=weights)

    ours = [p.detach() - s for p, s in zip([*teacher.parameters(), *student.parameters()], start)]
    theirs = [p.detach() - s for p, s in zip([*their_teacher.parameters(), *their_student.parameters()], start)]
    gap = relative_gap(ours, theirs)
    if mode == "faithful":
        assert gap < 1e-10, gap
    else:  # with dropout the fast mode is another estimator: it shows at once
        assert gap > 1e-3, gap


def test_padding_to_the_maximum_length_changes_no_logit():
    """The authors pad every example to max_seq_length; the project pads each batch to its
    longest example. Masked positions add exactly nothing: the logits agree to round-off."""
    model = tiny_bert(2, 16, seed=1).eval()
    dynamic = batch(3, size=5, length=9)
    padded = {key: torch.nn.functional.pad(value, (0, 23)) if value.dim() == 2 else value for key, value in dynamic.items()}
    with torch.no_grad():
        logits = [model(**{k: v for k, v in b.items() if k != "labels"}).logits for b in (dynamic, padded)]
    torch.testing.assert_close(logits[0], logits[1], rtol=1e-12, atol=1e-14)
