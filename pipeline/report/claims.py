"""The paper's claims, each decided from recorded results: effect, 95 % interval, verdict.

A pure function of what the pipeline recorded (no MLflow, no files, no torch): `decide_claims`
takes the table stage results (their rows keep every seed's numbers under `per_seed`) and the
figure stage result (every seed's AP curve under `per_seed`), and returns one `Claim` per claim
of the paper. Nothing here is written by hand except the claims themselves and the paper's
numbers they quote; every verdict follows from the numbers by one rule:

- **Paired comparisons** (a variant against the baseline, same seed): the per-seed differences
  d_s = ours_s − reference_s (for MR^-2, where lower is better, the sign is flipped so that a
  positive effect is always the paper's direction), their mean and the two-sided 95 % Student-t
  interval mean ± t(0.975, n−1)·sd/√n. The interval excludes 0 on the paper's side →
  **supported**; on the other side → **contradicted**; contains 0, or fewer than 2 seeds →
  **not resolved**.
- **"X is best"**: X against every rival by the rule above; supported when X beats every rival,
  contradicted when some rival beats X, otherwise not resolved; the effect shown is the margin to
  the closest rival. Grid points trained with one seed (Tables 6, 7) are compared unpaired, with
  the seed-to-seed standard deviation of one training pooled over Table 4's rows (same data and
  schedule): interval (mean_X − mean_r) ± t(0.975, df)·σ·√(1/n_X + 1/n_r).
- **Convergence** (Figure 4), by measures the learning-rate schedule cannot set, per seed and
  paired: (1) the epochs DSLA + FS saves to reach the baseline's final AP (d_s = first epoch the
  baseline reaches its own final AP − first epoch DSLA + FS reaches it; a run that never does
  counts as epoch N + 1, a bound in the baseline's favour); (2) the mean AP difference over the
  epochs before the first learning-rate drop (AP after the same number of epochs at the same lr);
  and (3) the paper's own reading, the epoch from which a curve stays within `PLATEAU_SPREAD` AP
  of its final AP (`flatten_epoch`), where both curves flatten before their last epoch.
- **Preconditions**: a claim about accuracy at convergence (the paper compares after 36 epochs)
  is decided only on runs that have plateaued — every seed's last three validated epochs within
  `PLATEAU_SPREAD` AP (`plateau_gate`). When a compared run is still rising, or was validated
  once so its plateau is unknown, the verdict is "not resolved" and says why; the effect is
  still shown, named as what it is: AP after N epochs. One-seed grid points (Tables 6, 7) are
  validated once; they take their plateau from the DSLA + FS claim runs (same model and
  schedule) and say so. A profile whose schedule is measured to stop short of convergence
  (`pipeline.profiles.SHORT_OF_CONVERGENCE`: curves flattened by a learning-rate drop can still be
  short of it) leaves these claims "not resolved" too, saying so.
- **Inference cost unchanged** (Table 5): params and FLOPs are counted, not sampled (no noise);
  supported when both differ by at most 0.5 % (the resolution of the paper's 32.0 M / 201 G),
  else contradicted.
"""
from __future__ import annotations

import json
import math
import re
import statistics
from dataclasses import asdict, dataclass

SUPPORTED, NOT_RESOLVED, CONTRADICTED = "supported", "not resolved", "contradicted"
RULE = ("Verdict rule: the two-sided 95 % Student-t interval of the effect (per-seed paired "
        "differences; unpaired with the pooled seed standard deviation for one-seed grid points) "
        "excludes 0 in the paper's direction → supported; excludes 0 in the other direction → "
        "contradicted; contains 0 or rests on fewer than 2 seeds → not resolved. Counted costs "
        "(params, FLOPs) have no noise: within 0.5 % → supported, else contradicted.")
REPRODUCIBILITY = (
    "How far a number holds: a training repeated on the same machine is bit-identical, but another CPU "
    "takes another floating-point path, and one seed's AP moved there by as much as the seed-to-seed "
    "spread (measured: seed 0 of Table 4's baseline and DSLA + FS, 2.3 AP each, on an AMD family-26 CPU "
    "against the machine of the README's numbers). So each number holds for the machine that produced it "
    "(named at the top of this report); the intervals cover the seed-to-seed spread, and n says how many "
    "seeds each rests on.")
COST_TOLERANCE = 0.005
PLATEAU_SPREAD = 1.0  # AP points: a curve whose last three epochs lie within this has plateaued
PLATEAU_WINDOW = 3  # validated epochs the plateau rule reads

# two-sided 95 % quantiles of Student's t, t(0.975, df) for df = 1..30 (beyond: 1.96 + 2.4/df)
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
         2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
         2.052, 2.048, 2.045, 2.042)


def t975(df: int) -> float:
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    return _T975[df - 1] if df <= len(_T975) else 1.96 + 2.4 / df


@dataclass(frozen=True)
class Claim:
    """One claim of the paper and what our recorded results say about it."""

    claim: str  # the claim in words
    paper: str  # the paper's numbers behind it
    measure: str  # what we compare, and in which unit
    effect: float | None  # our effect, signed so that > 0 is the paper's direction
    low: float | None  # 95 % interval of the effect (None: no interval)
    high: float | None
    n: int  # seeds (pairs) behind the effect
    verdict: str  # supported / not resolved / contradicted
    why: str  # the rule's reading of the numbers

    def unit(self) -> str:
        """The effect's unit, from what is compared: percentage points of a metric, epochs, or %."""
        if self.measure.rstrip().endswith("%"):
            return "%"
        if re.search(r"\b(AP|AP50|AP75|MR2|JI|Recall)\(", self.measure):  # a metric difference, even "after N epochs"
            return "points"
        return "epochs" if "epoch" in self.measure else ""

    def ours(self) -> str:
        if self.effect is None:
            return "no result"
        unit = f" {self.unit()}" if self.unit() else ""
        interval = f" [{self.low:+.2f}, {self.high:+.2f}]" if self.low is not None else ""
        return f"{self.effect:+.2f}{unit}{interval}, n={self.n}"


def decide(low: float | None, high: float | None) -> str:
    """The verdict of a 95 % interval of an effect whose paper direction is positive."""
    if low is None or high is None:
        return NOT_RESOLVED
    if low > 0:
        return SUPPORTED
    if high < 0:
        return CONTRADICTED
    return NOT_RESOLVED


def paired_interval(differences: list[float]) -> tuple[float | None, float | None, float | None]:
    """(mean, low, high) of the 95 % t-interval of paired differences; no interval below 2 pairs."""
    if not differences:
        return None, None, None
    mean = statistics.fmean(differences)
    if len(differences) < 2:
        return mean, None, None
    half = t975(len(differences) - 1) * statistics.stdev(differences) / math.sqrt(len(differences))
    return mean, mean - half, mean + half


def _seed_values(row: dict | None, metric: str) -> dict[str, float]:
    if not row:
        return {}
    return {str(seed): values[metric] for seed, values in row.get("per_seed", {}).items()
            if values.get(metric) is not None and not math.isnan(values[metric])}


def _why(low, high, n, verdict) -> str:
    if low is None:
        return f"{n} seed(s): no interval" if n else "not run"
    side = {SUPPORTED: "excludes 0 in the paper's direction", CONTRADICTED: "excludes 0 against the paper",
            NOT_RESOLVED: "contains 0"}[verdict]
    return f"95 % interval [{low:+.2f}, {high:+.2f}] {side}"


def paired_claim(claim: str, paper: str, rows: dict, ours: str, reference: str, metric: str,
                 sign: int = 1, label: str = "") -> Claim:
    """`ours` vs `reference` on `metric`, paired by seed; sign −1 where lower is better."""
    a, b = _seed_values(rows.get(ours), metric), _seed_values(rows.get(reference), metric)
    differences = [sign * (a[s] - b[s]) for s in sorted(set(a) & set(b))]
    mean, low, high = paired_interval(differences)
    verdict = decide(low, high)
    what = label or f"{metric}({ours}) − {metric}({reference})"
    measure = f"{what}{' (sign flipped: lower is better)' if sign < 0 else ''}, paired by seed"
    return Claim(claim, paper, measure, mean, low, high, len(differences), verdict,
                 _why(low, high, len(differences), verdict))


def pooled_seed_sd(rows: dict, metric: str) -> tuple[float | None, int]:
    """Seed-to-seed standard deviation of one training, pooled over rows with >= 2 seeds: (σ, df)."""
    squares, df = 0.0, 0
    for row in rows.values():
        values = list(_seed_values(row, metric).values())
        if len(values) >= 2:
            squares += statistics.variance(values) * (len(values) - 1)
            df += len(values) - 1
    return (math.sqrt(squares / df), df) if df else (None, 0)


def _best_of(claim: str, paper: str, comparisons: list[tuple[str, float | None, float | None, float | None, int]],
             measure: str) -> Claim:
    """Combine X-vs-rival comparisons (rival, mean, low, high, n) into one "X is best" claim."""
    if not comparisons or any(mean is None for _, mean, *_ in comparisons):
        missing = [r for r, mean, *_ in comparisons if mean is None]
        return Claim(claim, paper, measure, None, None, None, 0, NOT_RESOLVED,
                     f"not run: {', '.join(missing) or 'no rows'}")
    verdicts = [decide(low, high) for _, _, low, high, _ in comparisons]
    verdict = (CONTRADICTED if CONTRADICTED in verdicts else
               SUPPORTED if all(v == SUPPORTED for v in verdicts) else NOT_RESOLVED)
    rival, mean, low, high, n = min(comparisons, key=lambda c: c[1])
    beaten = [r for (r, *_), v in zip(comparisons, verdicts) if v == CONTRADICTED]
    why = (f"beaten by {', '.join(beaten)}" if beaten else
           f"ahead of all {len(comparisons)} rivals" if verdict == SUPPORTED else
           "not ahead of every rival beyond the 95 % interval")
    reading = _why(low, high, n, decide(low, high)) if low is not None else f"{n} seed(s), no interval"
    interval = f"; closest rival {rival}: {reading}"
    return Claim(claim, paper, measure + f" (closest rival: {rival})", mean, low, high, n, verdict, why + interval)


def best_paired(claim: str, paper: str, rows: dict, best: str, rivals: list[str], metric: str) -> Claim:
    comparisons = []
    for rival in rivals:
        c = paired_claim(claim, paper, rows, best, rival, metric)
        comparisons.append((rival, c.effect, c.low, c.high, c.n))
    return _best_of(claim, paper, comparisons, f"{metric}({best}) − {metric}(best rival), paired by seed")


def best_unpaired(claim: str, paper: str, rows: dict, best: str, metric: str,
                  noise: tuple[float | None, int]) -> Claim:
    """`best` vs every other row of a grid table, unpaired, with the pooled seed σ (`noise`)."""
    sigma, df = noise
    x = list(_seed_values(rows.get(best), metric).values())
    comparisons = []
    for rival, row in rows.items():
        if rival == best:
            continue
        r = list(_seed_values(row, metric).values())
        if not x or not r:
            comparisons.append((rival, None, None, None, 0))
            continue
        mean = statistics.fmean(x) - statistics.fmean(r)
        if sigma is None:
            comparisons.append((rival, mean, None, None, len(x) + len(r)))
            continue
        half = t975(df) * sigma * math.sqrt(1 / len(x) + 1 / len(r))
        comparisons.append((rival, mean, mean - half, mean + half, len(x) + len(r)))
    noise_text = f"σ = {sigma:.2f} pooled over Table 4's seeds, df {df}" if sigma is not None else "no seed σ"
    return _best_of(claim, paper, comparisons, f"{metric}({best}) − {metric}(other grid point), unpaired, {noise_text}")


def first_epoch_reaching(curve, target: float) -> int | None:
    """The first epoch whose AP is >= `target` (None if none is). `curve` = [(epoch, AP), ...]."""
    return next((int(epoch) for epoch, ap in curve if ap >= target - 1e-12), None)


def flatten_epoch(curve, band: float = PLATEAU_SPREAD / 100) -> int | None:
    """The paper's "epoch where the curve flattens": the first epoch from which every later AP lies
    within `band` of the final AP (AP as a fraction; band 1 AP point), if at least PLATEAU_WINDOW
    epochs do; None when the curve is still moving over its last epochs."""
    if not curve:
        return None
    final = curve[-1][1]
    index = len(curve)
    while index > 0 and abs(curve[index - 1][1] - final) <= band + 1e-12:
        index -= 1
    return int(curve[index][0]) if len(curve) - index >= PLATEAU_WINDOW else None


def _curves(figure: dict | None, dataset: str) -> tuple[dict, dict]:
    per_seed = (figure or {}).get("per_seed", {})
    return per_seed.get(f"{dataset}/baseline", {}), per_seed.get(f"{dataset}/dsla_fs", {})


def _paired_from(claim: str, paper: str, differences: list[float], measure: str, detail: str = "") -> Claim:
    mean, low, high = paired_interval(differences)
    verdict = decide(low, high)
    why = _why(low, high, len(differences), verdict)
    return Claim(claim, paper, measure, mean, low, high, len(differences), verdict, why + (f"; {detail}" if detail else ""))


def speedup_claim(claim: str, paper: str, figure: dict | None, dataset: str) -> Claim:
    """Epochs DSLA + FS saves to reach the baseline's final AP, per seed, paired (module docstring)."""
    base, ours = _curves(figure, dataset)
    seeds = sorted(set(base) & set(ours))
    differences, never, parts = [], [], []
    for seed in seeds:
        b, d = base[seed], ours[seed]
        if not b or not d:
            continue
        target = b[-1][1]
        epochs_b = first_epoch_reaching(b, target)
        epochs_d = first_epoch_reaching(d, target)
        if epochs_d is None:
            never.append(seed)
            epochs_d = int(d[-1][0]) + 1
        differences.append(float(epochs_b - epochs_d))
        parts.append(f"seed {seed}: {epochs_b} vs {epochs_d if seed not in never else f'>{epochs_d - 1}'}")
    total = max((len(c) for c in base.values()), default=0)
    detail = "epochs (baseline vs DSLA + FS) " + ", ".join(parts) if parts else ""
    if never:
        detail += f"; DSLA + FS never reached it on seed(s) {', '.join(never)} (counted as epoch N + 1)"
    return _paired_from(claim, paper, differences,
                        f"epochs saved to reach the baseline's final AP: first epoch at it (baseline) − first "
                        f"epoch at it (DSLA + FS), paired by seed, of {total} epochs", detail)


def early_claim(claim: str, paper: str, figure: dict | None, dataset: str) -> Claim:
    """Mean AP difference DSLA + FS − baseline over the epochs before the first lr drop, per seed."""
    base, ours = _curves(figure, dataset)
    drop = (figure or {}).get("lr_drop")
    differences = []
    for seed in sorted(set(base) & set(ours)):
        b = {int(e): ap for e, ap in base[seed]}
        d = {int(e): ap for e, ap in ours[seed]}
        epochs = [e for e in sorted(set(b) & set(d)) if drop is None or e <= drop]
        if epochs:
            differences.append(100 * statistics.fmean(d[e] - b[e] for e in epochs))
    span = f"epochs 1–{drop}, before the first lr drop" if drop else "every validated epoch (no lr drop recorded)"
    return _paired_from(claim, paper, differences,
                        f"AP(DSLA + FS) − AP(baseline) averaged over {span}, AP points, paired by seed")


def flatten_claim(claim: str, paper: str, figure: dict | None, dataset: str) -> Claim:
    """The paper's reading: the epoch each curve flattens (`flatten_epoch`), baseline − DSLA + FS."""
    base, ours = _curves(figure, dataset)
    differences, missing = [], []
    for seed in sorted(set(base) & set(ours)):
        fb, fd = flatten_epoch(base[seed]), flatten_epoch(ours[seed])
        if fb is None or fd is None:
            missing.append(f"seed {seed}: {'baseline' if fb is None else 'DSLA + FS'} still moving")
            continue
        differences.append(float(fb - fd))
    result = _paired_from(claim, paper, differences,
                          f"epoch the curve flattens (stays within {PLATEAU_SPREAD:g} AP of its final AP for at least "
                          f"{PLATEAU_WINDOW} epochs): baseline − DSLA + FS, paired by seed; on a step schedule the lr "
                          "drop can set it")
    if missing:
        return Claim(**{**asdict(result), "why": result.why + "; not counted: " + ", ".join(missing)})
    return result


def convergence_claim(claim: str, paper: str, figure: dict | None, dataset: str) -> Claim:
    """The headline convergence claim: decided by `speedup_claim` (see the module docstring)."""
    return speedup_claim(claim, paper, figure, dataset)


# ------------------------------------------------------------------------ preconditions
def curve_spread(curve) -> float | None:
    """Spread (max − min, AP points) of the last PLATEAU_WINDOW validated epochs; None if fewer."""
    if len(curve) < PLATEAU_WINDOW:
        return None
    tail = [ap for _, ap in curve[-PLATEAU_WINDOW:]]
    return 100 * (max(tail) - min(tail))


def plateau_state(row: dict | None) -> tuple[bool | None, str]:
    """Whether a table row's runs have plateaued on every seed: (True/False, text), or (None, why
    unknown). The row's `curves` are its trainings' validation curves, by seed."""
    if not row:
        return None, "not run"
    curves = row.get("curves") or {}
    spreads = [curve_spread(c) for _, c in sorted(curves.items())]
    if not curves or any(s is None for s in spreads):
        return None, "validated once, plateau unknown"
    text = f"last {PLATEAU_WINDOW} epochs {min(spreads):.1f}–{max(spreads):.1f} AP apart over {len(spreads)} seed(s)"
    return max(spreads) <= PLATEAU_SPREAD, text


def plateau_gate(result: Claim, rows: dict, runs: list[str], proxy: dict | None = None,
                 proxy_name: str = "", short_of_convergence: str | None = None) -> Claim:
    """A claim about accuracy at convergence, decided only when every compared run has plateaued
    (see the module docstring); otherwise "not resolved" naming the run and its spread, the
    effect kept and named "after N epochs". `proxy`: the row whose curves stand in for runs
    validated once (grid points: the DSLA + FS claim row)."""
    states = {}
    for run in runs:
        state, text = plateau_state(rows.get(run))
        if state is None and proxy is not None and rows.get(run):
            state, text = plateau_state(proxy)
            text = f"as the {proxy_name} claim runs (same model and schedule): {text}"
        states[run] = (state, text)
    failing = {run: text for run, (state, text) in states.items() if state is not True}
    epochs = {len(c) for run in runs for c in ((rows.get(run) or {}).get("curves") or {}).values()}
    after = f" (AP after {max(epochs)} epochs)" if epochs else ""
    if result.effect is None:
        return result
    if not failing and short_of_convergence:  # the runs look flat, but the schedule is known to stop short
        return Claim(**{**asdict(result), "measure": result.measure + after, "verdict": NOT_RESOLVED,
                        "why": f"precondition not met: {short_of_convergence}; the interval alone would say "
                               f"{result.verdict} ({result.why})"})
    if not failing:
        return Claim(**{**asdict(result), "why": result.why + "; all compared runs plateaued"})
    rising = [f"{run} {'still rising' if states[run][0] is False else 'plateau unknown'} ({text})"
              for run, text in failing.items()]
    return Claim(**{**asdict(result), "measure": result.measure + after, "verdict": NOT_RESOLVED,
                    "why": f"precondition not met: {'; '.join(rising)}; the interval alone would say "
                           f"{result.verdict} ({result.why})"})


def cost_claim(claim: str, paper: str, rows: dict) -> Claim:
    base, ours = rows.get("baseline/infer"), rows.get("dsla_fs/infer")
    if not base or not ours:
        return Claim(claim, paper, "params and GFLOPs of the inference graphs", None, None, None, 0,
                     NOT_RESOLVED, "not run")
    changes = {m: (ours[m] - base[m]) / base[m] for m in ("params_M", "GFLOPs") if base.get(m)}
    worst = max(changes.values(), key=abs)
    verdict = SUPPORTED if all(abs(c) <= COST_TOLERANCE for c in changes.values()) else CONTRADICTED
    detail = ", ".join(f"{m} {base[m]:.4g} → {ours[m]:.4g}" for m in changes)
    # the effect is "how unchanged": the paper's direction is no change, so report −|change| in %
    return Claim(claim, paper, "largest relative change of params / GFLOPs, DSLA + FS vs baseline, inference graph, %",
                 -abs(100 * worst), None, None, 1, verdict,
                 f"{detail}: counted, no noise; {'within' if verdict == SUPPORTED else 'beyond'} "
                 f"{100 * COST_TOLERANCE:.1f} %")


def decide_claims(tables: dict[str, dict | None], figure: dict | None,
                  short_of_convergence: str | None = None) -> list[Claim]:
    """Every claim of the paper, decided from the recorded table and figure stage results.

    `tables` maps a table name to its stage result (`{"rows": {row id: {..., "per_seed":
    {seed: {metric: value}}}}}`, metrics in the paper's units), `figure` is Figure 4's stage result
    (`{"per_seed": {"<dataset>/<variant>": {seed: [[epoch, AP], ...]}}}`). Missing tables give
    "not resolved" claims that say "not run".
    """
    rows = {name: (result or {}).get("rows", {}) for name, result in tables.items()}
    t4, t8 = rows.get("table4", {}), rows.get("table8", {})
    t6, t7 = rows.get("table6", {}), rows.get("table7", {})
    noise = pooled_seed_sd(t4, "AP")
    proxy = t4.get("dsla_fs")

    def gated(claim: Claim, table: dict, runs: list[str], grid: bool = False) -> Claim:
        return plateau_gate(claim, table, runs, proxy if grid else None, "DSLA + FS", short_of_convergence)

    return [
        gated(paired_claim("DSLA raises AP over the baseline", "Table 4: 91.1 vs 90.1 AP (+1.0)",
                           t4, "dsla", "baseline", "AP"), t4, ["dsla", "baseline"]),
        gated(paired_claim("DSLA lowers MR^-2 below the baseline", "Table 4: 47.8 vs 50.0 MR^-2 (−2.2)",
                           t4, "dsla", "baseline", "MR2", sign=-1), t4, ["dsla", "baseline"]),
        gated(paired_claim("Feature Shuffle helps (over the baseline)", "Table 4: 90.5 vs 90.1 AP (+0.4)",
                           t4, "fs", "baseline", "AP"), t4, ["fs", "baseline"]),
        gated(paired_claim("Feature Shuffle helps (on top of DSLA)", "Table 4: 91.7 vs 91.1 AP (+0.6)",
                           t4, "dsla_fs", "dsla", "AP"), t4, ["dsla_fs", "dsla"]),
        gated(best_paired("DSLA + FS is the best of the four variants", "Table 4: 91.7 AP, next 91.1",
                          t4, "dsla_fs", ["dsla", "fs", "baseline"], "AP"), t4, ["dsla_fs", "dsla", "fs", "baseline"]),
        convergence_claim("DSLA converges in fewer epochs (CrowdHuman)", "Figure 4a: epoch 10 vs 14 of 36",
                          figure, "crowdhuman"),
        early_claim("DSLA is ahead early in training (CrowdHuman)", "Figure 4a: DSLA above OneNet until both flatten",
                    figure, "crowdhuman"),
        flatten_claim("DSLA's curve flattens earlier (CrowdHuman)", "Figure 4a: epoch 10 vs 14 of 36",
                      figure, "crowdhuman"),
        convergence_claim("DSLA converges in fewer epochs (COCO)", "Figure 4b: epoch 17 vs 20 of 36",
                          figure, "coco"),
        gated(best_unpaired("K = 6 soft anchors is best", "Table 6: 91.7 AP at K = 6, next 91.2 (K = 7, 8)",
                            t6, "K=6", "AP", noise), t6, sorted(t6), grid=True),
        gated(best_unpaired("T^max = 0.6 / T^min = 0.4 is best", "Table 7: 91.7 AP, next 90.8 (0.5 / 0.4)",
                            t7, "t_min=0.4/t_max=0.6", "AP", noise), t7, sorted(t7), grid=True),
        cost_claim("Inference cost is unchanged", "Table 5: 32.0 M params, 201 GFLOPs for both",
                   rows.get("table5", {})),
        gated(paired_claim("DSLA + FS raises AP on COCO", "Table 8: 40.5 vs 38.6 AP (+1.9)",
                           t8, "dsla_fs", "baseline", "AP"), t8, ["dsla_fs", "baseline"]),
    ] + added_row_claims(tables, short_of_convergence)


def added_row_claims(tables: dict[str, dict | None], short_of_convergence: str | None = None) -> list[Claim]:
    """The claims of the rows of ours (ablations, docs/ablations.md): "row beats its reference" and
    "challenger beats row" for each challenger the declaration names, paired by seed on the
    table's first metric (AP; higher is better), each gated on the plateau of both runs as the
    paper's accuracy claims are. The declarations come with the table's result."""
    claims = []
    for name, result in tables.items():
        rows = (result or {}).get("rows", {})
        for row in (result or {}).get("added_rows", []):
            where = f"{name.replace('table', 'Table ')}, row `{row['id']}` (ours, beyond the paper)"
            reference = row["reference"]
            claims.append(plateau_gate(paired_claim(row.get("claim") or f"{row['label']} beats {reference}", where,
                                                    rows, row["id"], reference, "AP",
                                                    label=f"AP({row['id']}) − AP({reference})"),
                                       rows, [row["id"], reference], short_of_convergence=short_of_convergence))
            for challenger, text in row.get("challengers", []):
                claims.append(plateau_gate(paired_claim(text or f"{challenger} beats {row['label']}", where, rows,
                                                        challenger, row["id"], "AP",
                                                        label=f"AP({challenger}) − AP({row['id']})"),
                                           rows, [challenger, row["id"]], short_of_convergence=short_of_convergence))
    return claims


def plateau_spreads(figure: dict | None) -> dict[str, list[float]]:
    """Per Figure 4 run (`<dataset>/<variant>`), each seed's spread (max − min, in AP points) of
    the last three validated epochs; the figure stage records AP as a fraction, as MLflow does."""
    spreads = {}
    for run, curves in sorted((figure or {}).get("per_seed", {}).items()):
        spreads[run] = [round(100 * (max(ap for _, ap in curve[-3:]) - min(ap for _, ap in curve[-3:])), 6)
                        for _, curve in sorted(curves.items()) if len(curve) >= 3]
    return spreads


def plateau_note(figure: dict | None) -> str:
    """Whether the runs the claims compare had stopped improving: the curves' last three epochs
    within PLATEAU_SPREAD AP (every seed). A comparison with a run still rising also measures how
    fast it converges, not only where it ends (the paper compares after 36 epochs)."""
    spreads = {run: s for run, s in plateau_spreads(figure).items() if s}
    if not spreads:
        return ""
    parts = [f"{run} {'plateaued' if max(s) <= PLATEAU_SPREAD else 'not plateaued'} "
             f"({min(s):.1f}–{max(s):.1f} AP over {len(s)} seed{'s' if len(s) > 1 else ''})" for run, s in spreads.items()]
    rising = [run for run, s in spreads.items() if max(s) > PLATEAU_SPREAD]
    text = (f"Plateau check (spread of the last three epochs of Figure 4's curves, within {PLATEAU_SPREAD:g} AP "
            f"on every seed counts as plateaued): {'; '.join(parts)}.")
    if rising:
        text += (f" Comparisons involving {', '.join(rising)} measure in part how fast the runs converge, not only "
                 "where training ends: the paper compares after 36 epochs.")
    return text


def claims_markdown(claims: list[Claim], profile: str, figure: dict | None = None) -> str:
    """The report's Claims section: one line per claim, the rule, and whether the compared runs
    had plateaued (from Figure 4's curves, when given)."""
    lines = ["## Claims", "",
             f"Each claim of the paper, decided from this report's own runs (profile `{profile}`). "
             "Effect: signed so that a positive number is the paper's direction.", "",
             "| claim | paper | what we compare | ours: effect [95 % interval], seeds | verdict | why |",
             "|---|---|---|---|---|---|"]
    for c in claims:
        lines.append(f"| {c.claim} | {c.paper} | {c.measure} | {c.ours()} | **{c.verdict}** | {c.why} |")
    lines += ["", RULE, "", REPRODUCIBILITY]
    counts = sorted({c.n for c in claims if c.effect is not None})
    if counts:
        lines[-1] += (f" Here the effects rest on {', '.join(str(n) for n in counts)} seed pair(s) "
                      "(column n): one seed is a hint, not a finding.")
    note = plateau_note(figure)
    if note:
        lines += ["", note]
    return "\n".join(lines)


def claims_tags(claims: list[Claim]) -> dict[str, str]:
    """MLflow tags of the report run: `dsla.claim.<slug>` = "verdict: effect [interval], n"."""
    def slug(text: str) -> str:
        return "".join(ch if ch.isalnum() else "_" for ch in text.lower()).strip("_")[:60]
    return {f"dsla.claim.{slug(c.claim)}": f"{c.verdict}: {c.ours()}" for c in claims}


def claims_json(claims: list[Claim]) -> str:
    return json.dumps([asdict(c) for c in claims], indent=1)
