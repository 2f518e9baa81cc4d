"""A stage claimed by a process on another host (or in another PID namespace) sharing the folder is
waited for, not run a second time: its pid cannot be checked from here, so the claim is a lease the
running stage renews; a lapsed lease is a dead holder's and is taken over."""
from __future__ import annotations

import json
import os
import time

from pipeline.engine import store as store_module
from pipeline.engine.store import MISSING, RUNNING, ResultStore


def foreign_marker(store: ResultStore, key: str, age: float = 0.0) -> None:
    path = store.running_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pid": os.getpid() + 100000, "where": "login2/4026531836"}))
    then = time.time() - age
    os.utime(path, (then, then))


def test_a_fresh_claim_from_another_host_is_running_and_is_not_taken(tmp_path):
    store = ResultStore(tmp_path)
    foreign_marker(store, "k")
    assert store.load("k").status == RUNNING
    assert store.claim("k") == os.getpid() + 100000, "a second process ran a stage held elsewhere"


def test_a_lapsed_claim_from_another_host_is_taken_over(tmp_path):
    store = ResultStore(tmp_path)
    foreign_marker(store, "k", age=store_module.LEASE_SECONDS + 5)
    assert store.load("k").status == MISSING
    assert store.claim("k") is None
    assert json.loads(store.running_path("k").read_text())["where"] == store_module.WHERE


def test_a_running_stage_renews_its_claim(tmp_path):
    store = ResultStore(tmp_path)
    assert store.claim("k") is None
    old = time.time() - 1000
    os.utime(store.running_path("k"), (old, old))
    with store.holding("k", every=0.05):
        time.sleep(0.3)
    assert time.time() - store.running_path("k").stat().st_mtime < 5
