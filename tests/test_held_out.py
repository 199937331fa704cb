"""Where a run trains, selects and draws its held-out batches, by `held_out.source`: golden
values, so that a change in how the slice is drawn (ours or the datasets library's) shows."""

from __future__ import annotations

import datasets

from pipeline.glue.tasks import TASKS
from pipeline.settings.params import validate_params
from pipeline.training.batches import held_out_split
from pipeline.training.run import selection_and_held_out


def splits() -> datasets.DatasetDict:
    return datasets.DatasetDict({
        "train": datasets.Dataset.from_dict({"idx": list(range(20)), "labels": [i % 2 for i in range(20)]}),
        "dev": datasets.Dataset.from_dict({"idx": list(range(6)), "labels": [0, 1] * 3}),
    })


def test_train_slice_holds_out_a_seeded_fraction_of_train():
    rest, held = held_out_split(splits()["train"], 0.25, seed=42)
    assert list(held["idx"]) == [15, 9, 14, 7, 12]
    assert list(rest["idx"]) == [10, 6, 19, 3, 0, 16, 5, 11, 18, 2, 4, 17, 1, 13, 8]
    assert list(held_out_split(splits()["train"], 0.25, seed=7)[1]["idx"]) == [3, 8, 12, 13, 14]


def test_train_slice_trains_on_the_rest_and_selects_on_the_slice(demo_params):
    demo_params["held_out"] = {"source": "train_slice", "fraction": 0.25}
    train, selection, held = selection_and_held_out(validate_params(demo_params), TASKS["rte"], splits())
    assert sorted(selection["idx"]) == sorted(held["idx"]) == [7, 9, 12, 14, 15]  # the seed is params' 42
    assert sorted(train["idx"]) == sorted(set(range(20)) - {7, 9, 12, 14, 15})


def test_dev_trains_on_all_of_train_and_selects_on_dev(demo_params):
    demo_params["held_out"]["source"] = "dev"
    train, selection, held = selection_and_held_out(validate_params(demo_params), TASKS["rte"], splits())
    assert list(train["idx"]) == list(range(20))
    assert list(selection["idx"]) == list(held["idx"]) == list(range(6))
