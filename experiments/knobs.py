"""The method's knobs, each declared once: name, config key, valid range, the paper's default.

Everything else is derived from `KNOBS`: the fields a `Train` run may set (`experiments.tables`),
their validation (`check`), the defaults filled into a run's overrides (`paper_defaults`), the
config keys the train stage overrides (`apply`), and the effective values logged for a run
(`effective`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping


@dataclass(frozen=True)
class Knob:
    name: str  # as in `Train`, sweeps and MLflow params
    config_key: str  # dotted key in an mmdet config; "neck:<Type>.<field>" for a neck in model.neck
    kind: type  # int or float
    low: float  # valid range, inclusive
    high: float
    branch: str | None  # "sla" / "fs": only variants with that branch have the knob; None: all
    default: int | float | None  # the paper's value, filled into every run with the branch; None: silent
    meaning: str

    def check(self, value: Any) -> None:
        """A one-line error naming the knob and value unless `value` is a valid setting."""
        if self.kind is int and not (isinstance(value, int) and not isinstance(value, bool)):
            raise ValueError(f"{self.name}={value!r}: {self.meaning} must be an integer")
        if self.kind is float and not (isinstance(value, (int, float)) and not isinstance(value, bool)):
            raise ValueError(f"{self.name}={value!r}: {self.meaning} must be a number")
        if not (math.isfinite(value) and self.low <= value <= self.high):
            bounds = f"in [{self.low:g}, {self.high:g}]" if math.isfinite(self.high) else f"at least {self.low:g}"
            raise ValueError(f"{self.name}={value!r}: {self.meaning} must be {bounds}")


INF = math.inf
KNOBS: tuple[Knob, ...] = (
    Knob("K", "model.bbox_head.num_soft_anchors", int, 1, INF, "sla", 6,
         "the number of soft anchors per ground truth (Table 6: K = 6)"),
    Knob("t_max", "model.bbox_head.t_max", float, 0.0, 1.0, "sla", 0.6,
         "T^max, the soft-label scale of the first epoch (eq. 4; Table 7: 0.6)"),
    Knob("t_min", "model.bbox_head.t_min", float, 0.0, 1.0, "sla", 0.4,
         "T^min, the soft-label scale of the last epoch (eq. 4; Table 7: 0.4)"),
    Knob("lambda_o2o", "model.bbox_head.lambda_o2o", float, 0.0, INF, None, None,
         "λ_o2o, the weight of the one-to-one loss (eq. 1; the paper gives no value)"),
    Knob("lambda_sla", "model.bbox_head.lambda_sla", float, 0.0, INF, "sla", None,
         "λ_SLA, the weight of the soft-label loss (eq. 1; the paper gives no value)"),
    Knob("S", "neck:FeatureShuffle.shuffle_channels", int, 1, INF, "fs", None,
         "S, the channels Feature Shuffle exchanges between neighbouring levels (the paper gives no value)"),
)
BY_NAME = {knob.name: knob for knob in KNOBS}
BRANCHES = {"sla": "SLA branch", "fs": "Feature Shuffle"}  # the optional parts of a variant a knob may need
NAMES = tuple(BY_NAME)


def validate(values: Mapping[str, Any], branches: Mapping[str, bool], variant: str) -> None:
    """Refuse unknown knobs, knobs of a branch the variant lacks, values out of range, T^min > T^max."""
    unknown = sorted(set(values) - set(BY_NAME))
    if unknown:
        raise ValueError(f"unknown method knob(s) {unknown}; known: {', '.join(NAMES)}")
    for branch, label in BRANCHES.items():
        lacking = sorted(name for name in values if BY_NAME[name].branch == branch and not branches[branch])
        if lacking:
            raise ValueError(f"variant {variant!r} has no {label}; cannot set {lacking}")
    for name, value in values.items():
        BY_NAME[name].check(value)
    if branches.get("sla"):
        effective = {**paper_defaults(branches), **values}
        if effective["t_min"] > effective["t_max"]:
            raise ValueError(f"t_min={effective['t_min']!r} > t_max={effective['t_max']!r}: "
                             "T^min must not exceed T^max (eq. 4)")


def paper_defaults(branches: Mapping[str, bool]) -> dict[str, Any]:
    """The paper's stated values of the knobs a variant with `branches` has."""
    return {k.name: k.default for k in KNOBS if k.default is not None and (k.branch is None or branches[k.branch])}


def _necks(cfg, type_name: str) -> list:
    necks = cfg.model.get("neck")
    return [n for n in (necks if isinstance(necks, (list, tuple)) else [necks]) if n and n.get("type") == type_name]


def _has_key(cfg, dotted: str) -> bool:
    node = cfg
    for part in dotted.split("."):
        if not hasattr(node, "get") or part not in node:
            return False
        node = node[part]
    return True


def apply(cfg, values: Mapping[str, Any], config: str) -> None:
    """Set the knobs in an mmengine Config; a knob the config does not have is an error naming both."""
    merge = {}
    for name, value in values.items():
        if name not in BY_NAME:
            raise ValueError(f"{config}: unknown method knob {name!r}; known: {', '.join(NAMES)}")
        key = BY_NAME[name].config_key
        if key.startswith("neck:"):
            type_name, field = key[len("neck:"):].split(".")
            necks = _necks(cfg, type_name)
            if not necks:
                raise ValueError(f"{config}: {name}={value} given but the model has no {type_name} neck")
            for neck in necks:
                neck[field] = value
        elif not _has_key(cfg, key):
            raise ValueError(f"{config}: {name}={value} given but the config has no {key}")
        else:
            merge[key] = value
    cfg.merge_from_dict(merge)


def effective(cfg) -> dict[str, Any]:
    """The knob values a config trains with (overridden or its own), for the run's MLflow params."""
    values = {}
    for knob in KNOBS:
        if knob.config_key.startswith("neck:"):
            type_name, field = knob.config_key[len("neck:"):].split(".")
            necks = _necks(cfg, type_name)
            if necks and field in necks[0]:
                values[knob.name] = necks[0][field]
        elif _has_key(cfg, knob.config_key):
            node = cfg
            for part in knob.config_key.split("."):
                node = node[part]
            values[knob.name] = node
    return values


def check_config(cfg, config: str) -> None:
    """The knob rules of `validate` on a whole config (e.g. after `pipeline train --cfg-options`):
    each knob the config has in range, T^min <= T^max; a one-line error naming the config."""
    values = effective(cfg)
    try:
        for name, value in values.items():
            BY_NAME[name].check(value)
        if "t_min" in values and "t_max" in values and values["t_min"] > values["t_max"]:
            raise ValueError(f"t_min={values['t_min']!r} > t_max={values['t_max']!r}: "
                             "T^min must not exceed T^max (eq. 4)")
    except ValueError as exc:
        raise ValueError(f"{config}: {exc}") from None
