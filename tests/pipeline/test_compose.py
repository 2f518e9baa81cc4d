"""The composed configs (experiments/compose.py) equal the 24 per-profile files they replaced.

The fixture holds the resolved Config of every smoke, tiny and paper training as the old files
gave it (scripts/dump_resolved_configs.py --old-files, at the commit before they went), plus the
tiny config of the eq. 2-matching baseline, now Table 4's row `prior`. After an intended config
change, `python scripts/dump_resolved_configs.py` rewrites the fixture; review its diff.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from experiments import compose

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "resolved_configs.json").read_text())
sys.path.insert(0, str(ROOT / "scripts"))
import dump_resolved_configs as dump  # noqa: E402


@pytest.fixture(autouse=True)
def pinned_cache(monkeypatch):
    monkeypatch.setenv("DSLA_CACHE", dump.PINNED_CACHE)


def resolved(name: str, overrides=None) -> dict:
    cfg = compose.load(name, import_custom_modules=False)
    compose.apply_overrides(cfg, overrides or {})
    return dump.plain(cfg.to_dict())


@pytest.mark.parametrize("name", dump.NAMES)
def test_every_training_config_resolves_as_before(name):
    assert resolved(name) == FIXTURE[name]
    # the reader without mmengine (row checks in --dry-run) sees the same config
    assert dump.plain(compose.plain(*compose.parse(name))) == FIXTURE[name]


PRIOR = {"model.bbox_head.assigner": {"type": "OneToOneAssigner", "center_radius": 1.5}}


@pytest.mark.parametrize("overrides", [
    PRIOR,  # a dict with a new type replaces the old assigner's arguments
    {"model.bbox_head.assigner.type": "OneToOneAssigner", "model.bbox_head.assigner.center_radius": 1.5},  # dotted
    {"model.bbox_head.assigner": {"_delete_": True, "type": "OneToOneAssigner", "center_radius": 1.5}},  # mmengine
])
def test_the_prior_row_is_the_old_eq2_config(overrides):
    assert resolved("tiny/baseline_crowdhuman", overrides) == FIXTURE["tiny/baseline_eq2_crowdhuman"]


def test_same_type_merges_key_by_key():
    cfg = resolved("tiny/baseline_crowdhuman", {"model.bbox_head.assigner": {"class_weight": 3.0}})
    assert cfg["model"]["bbox_head"]["assigner"]["class_weight"] == 3.0
    assert cfg["model"]["bbox_head"]["assigner"]["l1_weight"] == 5.0


def test_an_unknown_key_is_one_line_naming_it():
    cfg = compose.load("smoke/baseline_crowdhuman", import_custom_modules=False)
    compose.check_overrides(cfg, {"model.bbox_head.assigner.type": "OneToOneAssigner",
                                  "model.bbox_head.assigner.center_radius": 1.5}, "row prior")
    with pytest.raises(ValueError, match=r"^row x: unknown config key 'model.bbox_head.asigner'") as info:
        compose.check_overrides(cfg, {"model.bbox_head.asigner.type": "OneToOneAssigner"}, "row x")
    assert "\n" not in str(info.value)


def test_names_and_files():
    assert compose.parse("experiments/configs/tiny/dsla_fs_crowdhuman.py") == ("tiny", "dsla_fs", "crowdhuman")
    assert compose.parse("my/own_config.py") is None
    assert [p.name for p in compose.files("paper/dsla_coco")] == ["paper.py", "coco.py", "dsla.py"]
    with pytest.raises(ValueError, match="profile 'tiny' has no dataset 'kitti'"):
        compose.compose("tiny", "baseline", "kitti")


def test_a_composed_config_dumps_to_one_file_that_loads_the_same(tmp_path, capsys):
    from mmengine.config import Config

    out = tmp_path / "dsla_fs.py"
    assert compose.main(["paper/dsla_fs_crowdhuman", "--out", str(out)]) == 0
    assert dump.plain(Config.fromfile(str(out), import_custom_modules=False).to_dict()) == \
        FIXTURE["paper/dsla_fs_crowdhuman"]
    assert compose.main(["paper/dsla_fs_kitti"]) == 2
    assert "has no dataset 'kitti'" in capsys.readouterr().err
