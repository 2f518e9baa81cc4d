"""The Claims section is computed from recorded results: fake results whose verdicts are known.

Hand-worked intervals: differences [1.0, 1.2, 0.8] have mean 1.0, sd 0.2, half-width
t(0.975, 2)·0.2/√3 = 4.303·0.11547 = 0.4969 → [0.503, 1.497] (supported); [1, 2, 3] has mean 2,
sd 1, half-width 4.303/√3 = 2.484 → [−0.484, 4.484] (not resolved).
"""
import math

import pytest

from pipeline.report.claims import (
    CONTRADICTED,
    NOT_RESOLVED,
    SUPPORTED,
    claims_markdown,
    claims_tags,
    decide_claims,
    flatten_epoch,
    paired_interval,
    plateau_note,
    plateau_spreads,
    t975,
)


def curve(*aps):
    return [[epoch + 1, ap] for epoch, ap in enumerate(aps)]


FLAT = curve(0.30, 0.50, 0.600, 0.605, 0.600)  # last three epochs 0.5 AP apart: plateaued
RISING = curve(0.30, 0.40, 0.500, 0.550, 0.600)  # 10 AP apart: still rising


def row(curves=FLAT, **per_seed_metric):
    """`row(AP=[a0, a1, a2])` -> a table row with seeds 0..n-1 (and the mean, as the table stage keeps),
    each seed's training curve `curves` (None: validated once)."""
    seeds = {}
    for metric, values in per_seed_metric.items():
        for seed, value in enumerate(values):
            seeds.setdefault(str(seed), {})[metric] = value
    return {"per_seed": seeds, **{m: sum(v) / len(v) for m, v in per_seed_metric.items()},
            "curves": {seed: curves for seed in seeds} if curves else {}}


BASE_AP = [60.0, 64.0, 68.0]  # a large seed-to-seed spread: only pairing by seed resolves +1


def fake_results():
    table4 = {
        "baseline": row(AP=BASE_AP, MR2=[80.0, 78.0, 79.0]),
        "dsla": row(AP=[a + d for a, d in zip(BASE_AP, (1.0, 1.2, 0.8))],  # supported: [0.50, 1.50]
                    MR2=[80.0 - 2.0, 78.0 - 2.5, 79.0 - 1.5]),                 # lower: supported
        "fs": row(AP=[a - d for a, d in zip(BASE_AP, (1.0, 1.2, 0.8))]),      # contradicted
        "dsla_fs": row(AP=[a + d for a, d in zip(BASE_AP, (2.0, 2.4, 1.7))]),  # best; vs dsla: [1.0, 1.2, 0.9]
    }
    # grid points are validated once (no curves): their plateau is read from the DSLA + FS claim runs
    table6 = {"K=6": table4["dsla_fs"], "K=4": row(None, AP=[62.0]), "K=8": row(None, AP=[66.4]),
              "K=10": row(None, AP=[50.0])}
    table7 = {"t_min=0.4/t_max=0.6": table4["dsla_fs"], "t_min=0.2/t_max=0.6": row(None, AP=[90.0])}
    table5 = {"baseline/infer": {"params_M": 2.5, "GFLOPs": 1.0}, "dsla_fs/infer": {"params_M": 2.5, "GFLOPs": 1.004},
              "dsla_fs/train": {"params_M": 2.6, "GFLOPs": 1.2}}
    table8 = {"baseline": row(AP=[30.0, 31.0, 32.0]), "dsla_fs": row(AP=[30.5])}  # one pair: not resolved
    base = curve(0.10, 0.30, 0.50, 0.70, 0.80, 0.96, 0.98, 0.99, 1.00)  # flattens only at 8, 9: still moving
    figure = {"lr_drop": 4, "per_seed": {
        # the baseline reaches its final AP (1.00) at epoch 9; DSLA + FS at 6, 6, 5: saves 3, 3, 4 epochs
        "crowdhuman/baseline": {"0": base, "1": base, "2": base},
        "crowdhuman/dsla_fs": {"0": curve(0.50, 0.80, 0.96, 0.97, 0.98, 1.00, 1.00, 1.00, 1.00),
                               "1": curve(0.50, 0.80, 0.96, 0.97, 0.98, 1.00, 1.00, 1.00, 1.00),
                               "2": curve(0.50, 0.80, 0.96, 0.97, 1.00, 1.00, 1.00, 1.00, 1.00)},
        # COCO: the baseline reaches its final AP at 7; DSLA + FS at 9 and never (counted 10): −2, −3
        "coco/baseline": {"0": curve(0.50, 0.80, 0.96, 0.97, 0.98, 0.99, 1.00, 1.00, 1.00),
                          "1": curve(0.50, 0.80, 0.96, 0.97, 0.98, 0.99, 1.00, 1.00, 1.00)},
        "coco/dsla_fs": {"0": curve(0.10, 0.30, 0.50, 0.70, 0.80, 0.90, 0.97, 0.99, 1.00),
                         "1": curve(0.10, 0.30, 0.50, 0.70, 0.80, 0.90, 0.90, 0.99, 0.995)},
    }}
    tables = {"table4": {"rows": table4}, "table5": {"rows": table5}, "table6": {"rows": table6},
              "table7": {"rows": table7}, "table8": {"rows": table8}}
    return tables, figure


def by_claim():
    tables, figure = fake_results()
    return {c.claim: c for c in decide_claims(tables, figure)}


def test_t_quantiles_match_scipy():
    scipy_stats = pytest.importorskip("scipy.stats")
    for df in (1, 2, 3, 8, 30):
        assert t975(df) == pytest.approx(scipy_stats.t.ppf(0.975, df), abs=1e-3)
    assert t975(100) == pytest.approx(scipy_stats.t.ppf(0.975, 100), abs=2e-3)


def test_paired_interval_by_hand():
    mean, low, high = paired_interval([1.0, 1.2, 0.8])
    assert (mean, low, high) == pytest.approx((1.0, 0.5031, 1.4969), abs=1e-3)
    mean, low, high = paired_interval([1.0, 2.0, 3.0])
    assert (mean, low, high) == pytest.approx((2.0, -0.4843, 4.4843), abs=1e-3)
    assert paired_interval([2.0]) == (2.0, None, None)


def test_paired_verdicts_are_the_known_ones():
    claims = by_claim()
    raise_ap = claims["DSLA raises AP over the baseline"]
    # paired by seed, the +1 AP is resolved although the seeds differ by 8 AP among themselves
    assert raise_ap.verdict == SUPPORTED and raise_ap.n == 3
    assert (raise_ap.effect, raise_ap.low, raise_ap.high) == pytest.approx((1.0, 0.5031, 1.4969), abs=1e-3)
    mr2 = claims["DSLA lowers MR^-2 below the baseline"]
    assert mr2.verdict == SUPPORTED and mr2.effect == pytest.approx(2.0)  # sign flipped: lower is better
    assert claims["Feature Shuffle helps (over the baseline)"].verdict == CONTRADICTED
    on_top = claims["Feature Shuffle helps (on top of DSLA)"]  # differences [1.0, 1.2, 0.9]: [0.65, 1.41]
    assert on_top.verdict == SUPPORTED and on_top.effect == pytest.approx(3.1 / 3)
    coco = claims["DSLA + FS raises AP on COCO"]  # a single seed pair: no interval
    assert coco.verdict == NOT_RESOLVED and coco.n == 1 and coco.low is None


def test_pairing_is_by_seed_not_by_position():
    tables, figure = fake_results()
    dsla = tables["table4"]["rows"]["dsla"]
    dsla["per_seed"] = dict(reversed(list(dsla["per_seed"].items())))  # same seeds, other order
    claim = {c.claim: c for c in decide_claims(tables, figure)}["DSLA raises AP over the baseline"]
    assert claim.verdict == SUPPORTED and claim.effect == pytest.approx(1.0)


def test_a_difference_within_noise_is_not_resolved():
    tables, figure = fake_results()
    rows = tables["table4"]["rows"]
    rows["dsla"] = row(AP=[a + d for a, d in zip(BASE_AP, (1.0, 2.0, 3.0))], MR2=[80.0, 78.0, 79.0])
    claims = {c.claim: c for c in decide_claims(tables, figure)}
    assert claims["DSLA raises AP over the baseline"].verdict == NOT_RESOLVED  # mean +2 but [−0.48, 4.48]
    assert claims["DSLA lowers MR^-2 below the baseline"].verdict == NOT_RESOLVED  # differences all 0


def test_best_of_variants_and_of_grids():
    claims = by_claim()
    best = claims["DSLA + FS is the best of the four variants"]
    assert best.verdict == SUPPORTED and "closest rival: dsla" in best.measure
    assert best.effect == pytest.approx(3.1 / 3)
    # K = 6 (mean 66.03, 3 seeds) vs K = 8 (66.4, one seed): margin −0.37, within the pooled noise
    k = claims["K = 6 soft anchors is best"]
    assert k.verdict == NOT_RESOLVED and k.effect == pytest.approx(64 + 6.1 / 3 - 66.4, abs=1e-6)
    assert "closest rival: K=8" in k.measure and "pooled" in k.measure
    # T grid: one rival at 90.0 AP beats 66.0 by far more than the noise
    assert claims["T^max = 0.6 / T^min = 0.4 is best"].verdict == CONTRADICTED


def test_best_of_grid_interval_uses_the_pooled_seed_sd():
    tables, figure = fake_results()
    # pooled over Table 4's rows: every row's seeds spread like BASE_AP shifted by small amounts
    t4 = tables["table4"]["rows"]
    variances = [statistics_variance([v["AP"] for v in r["per_seed"].values()]) for r in t4.values()]
    sigma = math.sqrt(sum(variances) / len(variances))  # equal df per row: the mean of variances
    k = {c.claim: c for c in decide_claims(tables, figure)}["K = 6 soft anchors is best"]
    half = t975(8) * sigma * math.sqrt(1 / 3 + 1 / 1)
    assert (k.low, k.high) == pytest.approx((k.effect - half, k.effect + half), abs=1e-6)


def statistics_variance(values):
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values) / (len(values) - 1)


def test_convergence_claims():
    claims = by_claim()
    crowd = claims["DSLA converges in fewer epochs (CrowdHuman)"]
    # epochs saved to reach the baseline's final AP: 9 − 6, 9 − 6, 9 − 5 = 3, 3, 4: mean 3.33, sd .577,
    # half-width 4.303·.577/√3 = 1.434 → [1.90, 4.77]
    assert crowd.effect == pytest.approx(10 / 3) and crowd.n == 3 and crowd.verdict == SUPPORTED
    assert (crowd.low, crowd.high) == pytest.approx((10 / 3 - 1.4342, 10 / 3 + 1.4342), abs=1e-3)
    assert "of 9 epochs" in crowd.measure and "baseline's final AP" in crowd.measure
    coco = claims["DSLA converges in fewer epochs (COCO)"]
    # 7 − 9 = −2; never reached on seed 1: counted as epoch 10, 7 − 10 = −3
    assert coco.effect == pytest.approx(-2.5) and coco.verdict == NOT_RESOLVED
    assert "never reached it on seed(s) 1" in coco.why
    early = claims["DSLA is ahead early in training (CrowdHuman)"]
    # epochs 1–4 (before the lr drop): (.40 + .50 + .46 + .27) / 4 = .4075 → 40.75 AP on every seed
    assert early.effect == pytest.approx(40.75) and early.verdict == SUPPORTED and "epochs 1–4" in early.measure
    flat = claims["DSLA's curve flattens earlier (CrowdHuman)"]
    assert flat.verdict == NOT_RESOLVED and flat.n == 0 and "baseline still moving" in flat.why


def test_flatten_epoch_needs_three_epochs_near_the_final_ap():
    assert flatten_epoch(curve(0.1, 0.5, 0.595, 0.60, 0.605, 0.60)) == 3  # .595.. all within .01 of .60
    assert flatten_epoch(curve(0.1, 0.5, 0.58, 0.59, 0.60)) is None  # only .59, .60 within .01
    assert flatten_epoch([]) is None


def test_accuracy_claims_wait_for_both_runs_to_plateau():
    tables, figure = fake_results()
    t4 = tables["table4"]["rows"]
    t4["baseline"]["curves"] = {seed: RISING for seed in t4["baseline"]["curves"]}
    claims = {c.claim: c for c in decide_claims(tables, figure)}
    raise_ap = claims["DSLA raises AP over the baseline"]
    # the interval alone says supported; the precondition does not hold: not resolved, effect kept
    assert raise_ap.verdict == NOT_RESOLVED and raise_ap.effect == pytest.approx(1.0)
    assert "baseline still rising (last 3 epochs 10.0–10.0 AP apart" in raise_ap.why
    assert "would say supported" in raise_ap.why and "AP after 5 epochs" in raise_ap.measure
    # a claim that does not involve the baseline is unaffected
    assert claims["Feature Shuffle helps (on top of DSLA)"].verdict == SUPPORTED
    # a run validated once has an unknown plateau: not resolved
    t4["dsla"]["curves"] = {}
    claims = {c.claim: c for c in decide_claims(tables, figure)}
    assert "dsla plateau unknown (validated once" in claims["Feature Shuffle helps (on top of DSLA)"].why
    assert claims["Feature Shuffle helps (on top of DSLA)"].verdict == NOT_RESOLVED


def test_grid_points_take_their_plateau_from_the_dsla_fs_claim_runs():
    tables, figure = fake_results()
    assert "all compared runs plateaued" in by_claim()["T^max = 0.6 / T^min = 0.4 is best"].why
    tables["table4"]["rows"]["dsla_fs"]["curves"] = {seed: RISING for seed in "012"}
    t_claim = {c.claim: c for c in decide_claims(tables, figure)}["T^max = 0.6 / T^min = 0.4 is best"]
    assert t_claim.verdict == NOT_RESOLVED  # the interval alone: contradicted
    assert "as the DSLA + FS claim runs (same model and schedule)" in t_claim.why


def test_cost_claim_counts_without_noise():
    claims = by_claim()
    cost = claims["Inference cost is unchanged"]
    assert cost.verdict == SUPPORTED and cost.effect == pytest.approx(-0.4)  # 0.4 % more FLOPs
    tables, figure = fake_results()
    tables["table5"]["rows"]["dsla_fs/infer"]["params_M"] = 2.6
    cost = {c.claim: c for c in decide_claims(tables, figure)}["Inference cost is unchanged"]
    assert cost.verdict == CONTRADICTED


def test_missing_results_are_not_resolved_and_say_so():
    claims = decide_claims({}, None)
    assert len(claims) == 13 and all(c.verdict == NOT_RESOLVED for c in claims)
    assert all(c.effect is None or c.n == 0 for c in claims)


def test_markdown_and_tags_show_every_claim_with_numbers():
    tables, figure = fake_results()
    claims = decide_claims(tables, figure)
    text = claims_markdown(claims, "tiny")
    lines = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert len(lines) == len(claims)
    assert "| DSLA raises AP over the baseline | Table 4: 91.1 vs 90.1 AP (+1.0) |" in text
    assert "+1.00 points [+0.50, +1.50], n=3 | **supported** |" in text
    tags = claims_tags(claims)
    assert tags["dsla.claim.dsla_raises_ap_over_the_baseline"] == "supported: +1.00 points [+0.50, +1.50], n=3"
    for claim in claims:  # every effect with its unit: AP points, epochs or %
        assert claim.effect is None or claim.unit() in ("points", "epochs", "%"), (claim.measure, claim.ours())
    assert len(tags) == len(claims)


def evaluate_result(ap, mr2, seed):
    return {"metrics": {"AP": ap, "MR2": mr2, "JI": 0.5, "Recall": 0.9}, "run": {}, "knobs": {},
            "data": "synthetic crowd preset", "weights": "MobileNetV2Features: w.pt"}


def test_tables_keep_every_seed_and_show_the_paired_difference(tmp_path):
    from experiments import tables as defs
    from pipeline.report.render import display_frame, table_frame
    from pipeline.stages.table import aggregate_rows, caption
    spec = defs.tables("tiny")["table4"]
    inputs = {}
    for seed, base in enumerate((0.60, 0.64, 0.68)):
        inputs[f"baseline@seed{seed}"] = evaluate_result(base, 0.80, seed)
        inputs[f"dsla@seed{seed}"] = evaluate_result(base + (0.010, 0.012, 0.008)[seed], 0.78, seed)
    rows = aggregate_rows(spec, inputs)
    assert rows["dsla"]["per_seed"]["2"]["AP"] == pytest.approx(68.8)
    frame = table_frame(spec, rows).set_index("id")
    # the spread between seeds (4 AP) is large, the paired difference (1.0 ± 0.2) is not
    assert frame.at["dsla", "ΔAP vs baseline (paired)"] == pytest.approx(1.0)
    assert frame.at["dsla", "ΔAP vs baseline (paired) std"] == pytest.approx(0.2)
    assert frame.at["dsla", "seeds (ours)"] == 3
    shown = display_frame(frame.reset_index()).set_index(frame.index)
    assert shown.at["dsla", "ΔAP vs baseline (paired)"] == "+1.00 ± 0.20"
    assert shown.at["dsla", "seeds (ours)"] == "3"
    assert shown.at["baseline", "ΔAP vs baseline (paired)"] == "–"
    text = caption(spec, "tiny", 3, rows)
    assert "paired by seed" in text and "backbone start: MobileNetV2Features: w.pt" in text


def test_report_index_starts_with_the_claims(tmp_path):
    from pipeline.stages.report import write_report
    tables, figure = fake_results()
    for name, result in tables.items():
        result["caption"] = f"**{name}**"
    files = write_report("tiny", tables, None, tmp_path, tracking_uri="sqlite:///x.db", commit="abc")
    index = (tmp_path / "index.md").read_text()
    assert index.index("## Claims") < index.index("**table4**")
    assert "| DSLA raises AP over the baseline |" in index and "**supported**" in index
    # no figure recorded: the convergence claims say so instead of inventing a verdict
    assert "| DSLA converges in fewer epochs (CrowdHuman) |" in index
    assert tmp_path / "claims.json" in files


def test_plateau_check_reads_the_last_three_epochs_of_every_seed():
    # AP as the figure stage records it (fractions); spreads in AP points
    figure = {"per_seed": {
        "crowdhuman/baseline": {"0": curve(0.20, 0.36, 0.37, 0.385), "1": curve(0.2, 0.35, 0.38, 0.37)},
        "crowdhuman/dsla_fs": {"0": curve(0.30, 0.615, 0.622, 0.623), "1": curve(0.3, 0.63, 0.62, 0.625)},
        "coco/baseline": {"0": curve(0.5, 0.6)},  # too short to judge: left out
    }}
    spreads = plateau_spreads(figure)
    assert spreads["coco/baseline"] == []
    assert spreads["crowdhuman/baseline"] == pytest.approx([2.5, 3.0])
    assert spreads["crowdhuman/dsla_fs"] == pytest.approx([0.8, 1.0])
    note = plateau_note(figure)
    assert "crowdhuman/baseline not plateaued (2.5–3.0 AP over 2 seeds)" in note
    assert "crowdhuman/dsla_fs plateaued (0.8–1.0 AP over 2 seeds)" in note  # 1.0 counts as within 1 AP
    assert "coco/baseline" not in note
    assert "Comparisons involving crowdhuman/baseline measure in part how fast" in note
    tables, _ = fake_results()
    assert note in claims_markdown(decide_claims(tables, figure), "tiny", figure)
    assert plateau_note(None) == ""


def test_a_schedule_known_to_stop_short_of_convergence_leaves_accuracy_claims_open():
    tables, figure = fake_results()
    short = "the schedule ends before the baseline converges (measured)"
    claims = {c.claim: c for c in decide_claims(tables, figure, short)}
    raise_ap = claims["DSLA raises AP over the baseline"]  # every run flat: the interval alone says supported
    assert raise_ap.verdict == NOT_RESOLVED and short in raise_ap.why and "would say supported" in raise_ap.why
    assert "AP after 5 epochs" in raise_ap.measure and raise_ap.effect == pytest.approx(1.0)
    # claims that are not about accuracy at convergence keep their verdicts
    assert claims["DSLA converges in fewer epochs (CrowdHuman)"].verdict == SUPPORTED
    assert claims["Inference cost is unchanged"].verdict == SUPPORTED


def test_effects_carry_the_unit_of_what_they_compare():
    tables, figure = fake_results()
    claims = {c.claim: c for c in decide_claims(tables, figure, "the schedule stops short")}
    # an AP difference stays in points when its measure says "AP after N epochs"
    assert claims["DSLA raises AP over the baseline"].ours().startswith("+1.00 points")
    assert claims["DSLA is ahead early in training (CrowdHuman)"].unit() == "points"
    assert claims["DSLA converges in fewer epochs (CrowdHuman)"].unit() == "epochs"
    assert claims["Inference cost is unchanged"].unit() == "%"
