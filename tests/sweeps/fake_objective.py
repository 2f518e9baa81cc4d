"""A stand-in for `TrainObjective` where a test is about Optuna mechanics, not training.

It has the same interface (`objective(trial, sweep, params) -> {"value", "metrics"}`), "trains"
`epochs` short epochs reporting a made-up AP after each (so pruners see a curve), and appends one
JSON line per call to `log` (`{"pid", "trial", "params"}`), so a test sees which points ran, how
often and in which process. Module level, so spawned worker processes can unpickle it.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass


def made_up_ap(params: dict, epoch: int, epochs: int) -> float:
    """Best at K = 7, T^max = 0.6, T^min = 0.4; rises with the epochs."""
    score = 0.6 - 0.02 * (params.get("K", 7) - 7) ** 2 - 0.3 * abs(params.get("t_max", 0.6) - 0.6) \
        - 0.3 * abs(params.get("t_min", 0.4) - 0.4)
    return round(score * epoch / epochs, 6)


@dataclass
class FakeObjective:
    log: str
    epochs: int = 3
    epoch_seconds: float = 0.05
    fail_at: dict | None = None  # params whose "training" hits a non-finite loss
    hang: bool = False  # the first call never returns (a worker to be killed)

    def __call__(self, trial, sweep, params: dict) -> dict:
        import optuna

        with open(self.log, "a") as handle:
            handle.write(json.dumps({"pid": os.getpid(), "trial": trial.number, "params": params}) + "\n")
        if self.hang:
            time.sleep(3600)
        if self.fail_at is not None and all(params.get(k) == v for k, v in self.fail_at.items()):
            raise FloatingPointError("loss_sla_cls is not finite ([nan]); lower the learning rate")
        for epoch in range(1, self.epochs + 1):
            time.sleep(self.epoch_seconds)
            ap = made_up_ap(params, epoch, self.epochs)
            trial.report(ap, epoch)
            if trial.should_prune():
                trial.set_user_attr("pruned_at_epoch", epoch)
                raise optuna.TrialPruned(f"pruned after epoch {epoch} (AP {ap:.4f})")
        return {"value": ap, "metrics": {"AP": ap, "Recall": 0.5}}


def calls(log) -> list[dict]:
    if not os.path.exists(log):
        return []
    return [json.loads(line) for line in open(log).read().splitlines() if line.strip()]
