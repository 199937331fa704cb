"""The comparison grid: its points, their experiments' params, and which are left to run."""

from __future__ import annotations

from pipeline.compare import GridPoint, gpu_ids, grid, pending, restricted, unfinished
from pipeline.reporting.experiments import run_config
from pipeline.settings.params import compose, load_preset, validate_params
from stages.environment import DEVICE_LOCKS_VARIABLE, DEVICES_VARIABLE, claim_device, free_device


def test_grid_order_gives_a_table_soonest():
    points = grid([1, 2], [1e-3, 2e-3], ["dev", "train_slice"], ["faithful", "fast"])
    assert len(points) == 16
    assert points[:4] == [GridPoint(1, 1e-3, "dev", "faithful"), GridPoint(1, 1e-3, "dev", "fast"),
                          GridPoint(2, 1e-3, "dev", "faithful"), GridPoint(2, 1e-3, "dev", "fast")]
    assert {p.held_out for p in points[:8]} == {"dev"} and {p.held_out for p in points[8:]} == {"train_slice"}


def test_part_of_the_grid_keeps_the_points_whose_every_coordinate_was_chosen():
    points = grid([1, 2, 3], [1e-3, 2e-3], ["dev", "train_slice"], ["faithful", "fast"])
    assert restricted(points) == points
    part = restricted(points, held_out=["train_slice"], learning_rates=[2e-3], seeds=[1, 3])
    assert part == [GridPoint(1, 2e-3, "train_slice", "faithful"), GridPoint(1, 2e-3, "train_slice", "fast"),
                    GridPoint(3, 2e-3, "train_slice", "faithful"), GridPoint(3, 2e-3, "train_slice", "fast")]
    assert restricted(points, lgtm_modes=["fast"], seeds=[2]) == [p for p in points if p.seed == 2 and
                                                                 p.lgtm_mode == "fast"]
    assert restricted(points, seeds=[9]) == []


def test_a_points_overrides_compose_its_params():
    point = GridPoint(seed=7, learning_rate=4e-3, held_out="train_slice", lgtm_mode="fast")
    params = compose(*point.overrides("compare"))
    validate_params(params)
    assert (params["preset"], params["seed"], params["train"]["learning_rate"]) == ("compare", 7, 4e-3)
    assert (params["held_out"]["source"], params["lgtm"]["mode"]) == ("train_slice", "fast")
    # Everything else is the demo's: the compare preset is the demo under its own name.
    demo = compose("preset=demo")
    assert params["model"] == demo["model"] and params["data"] == demo["data"]


def test_pending_is_what_no_finished_experiment_ran():
    points = grid([1, 2], [1e-3], ["dev"], ["faithful"])
    composed = {point: compose(*point.overrides("compare")) for point in points}
    finished = [composed[points[0]], compose("preset=demo")]  # the demo's params run no grid point
    assert pending(points, composed.__getitem__, finished) == [points[1]]
    # The same seed and rate under other params (an edited knob) is not the point.
    changed = compose(*points[1].overrides("compare"), "lgtm.radius=0.5")
    assert pending(points, composed.__getitem__, [changed]) == points
    # A grid extended by a rate keeps the points it ran: the grid's own section is no run's param.
    extended = compose(*points[0].overrides("compare"), "compare.learning_rates=[1e-3,5e-3]")
    assert extended["compare"] != composed[points[0]]["compare"]
    assert pending(points, composed.__getitem__, [extended]) == [points[1]]
    # ... and the paper table pools its runs with the extended grid's (one configuration).
    assert run_config(extended, "kd") == run_config(composed[points[0]], "kd")


def test_the_compare_preset_grid_is_the_issue_size():
    grid_params = load_preset("compare").compare
    assert len(grid_params.seeds) == 3 and len(grid_params.learning_rates) == 3
    assert set(grid_params.held_out) == {"dev", "train_slice"} and set(grid_params.lgtm_modes) == {"faithful", "fast"}


def test_the_grid_fans_out_over_the_gpus_cuda_visible_devices_names_else_all():
    assert gpu_ids(None, 0) == [] and gpu_ids(None, 4) == ["0", "1", "2", "3"]
    assert gpu_ids("2,3", 8) == ["2", "3"] and gpu_ids("", 8) == []


def test_the_queue_is_waited_for_while_a_task_is_queued_or_running():
    # `dvc queue status` as DVC 3.67 prints it.
    status = """Task     Name        Created    Status
b20b28f  pawky-wave  08:23 AM   Running
a9f75c4  vital-kids  08:23 AM   Queued
c0ffee1  brisk-hops  08:21 AM   Success
d00dad2  lazy-frogs  08:20 AM   Failed

Worker status: 2 active, 0 idle
"""
    assert unfinished(status) == 2
    assert unfinished("No experiment tasks in the queue.\n\nWorker status: 0 active, 0 idle\n") == 0


def test_each_stage_process_of_the_queue_takes_a_gpu_no_other_holds(tmp_path):
    first = free_device(["0", "1"], tmp_path)
    second = free_device(["0", "1"], tmp_path)
    assert (first[0], second[0]) == ("0", "1")
    assert free_device(["0", "1"], tmp_path) is None  # both held: claim_device waits
    first[1].close()  # a process that ends lets its GPU go
    assert free_device(["0", "1"], tmp_path)[0] == "0"
    environ = {DEVICES_VARIABLE: "0,1", DEVICE_LOCKS_VARIABLE: str(tmp_path / "other")}
    claim_device(environ)
    assert environ["CUDA_VISIBLE_DEVICES"] == "0"
    chosen = {DEVICES_VARIABLE: "0,1", DEVICE_LOCKS_VARIABLE: str(tmp_path), "CUDA_VISIBLE_DEVICES": "5"}
    claim_device(chosen)  # a GPU someone chose is kept
    assert chosen["CUDA_VISIBLE_DEVICES"] == "5"
    without_queue = {}
    claim_device(without_queue)
    assert without_queue == {}
