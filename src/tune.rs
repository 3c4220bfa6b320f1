//! `noisegate tune`: fits the score weights on past cluster records with known outcomes.
//!
//! Outcome of a record: actionable (1) when `acked_at` is set and it was acked no later than
//! it resolved (or it has not resolved); not actionable (0) when it resolved otherwise
//! (`resolved_by = auto`, or resolved without an ack, or acked only after it resolved);
//! records with neither (still open, never acked) are skipped and counted. A `cluster_id`
//! seen again (overlapping history files) keeps its last record.
//!
//! Model: `score = sigmoid(bias + Σ w_f · value_f)` over the `reasons[].value` of each record
//! (a missing feature is 0), fitted by Newton's method (IRLS) on the mean log loss plus
//! `λ/2 · |w|²` (the bias is not penalised), λ = [`LAMBDA`]. Records whose `cluster_id`
//! hashes (FNV-1a 64) to 0 mod 5 are held out; the rest train. Precision and recall are
//! reported at the configured `score.page_threshold` (score ≥ threshold pages), for the
//! fitted weights on train and holdout and for the configured weights on the holdout.

use std::path::PathBuf;

use anyhow::{anyhow, bail};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::event::EventTime;

/// L2 penalty on the weights.
pub const LAMBDA: f64 = 1e-3;
/// One record in this many (by cluster id hash) is held out.
pub const HOLDOUT_EVERY: u64 = 5;

/// The features the engine scores with, in config order.
pub const FEATURES: [&str; 7] = [
    "severity",
    "flapping",
    "transient",
    "duplicate_rate",
    "blast_radius",
    "after_hours",
    "actionable_rate",
];

#[derive(Deserialize)]
struct RecordLine {
    cluster_id: String,
    #[serde(default)]
    reasons: Vec<ReasonLine>,
    #[serde(default)]
    acked_at: Option<EventTime>,
    #[serde(default)]
    resolved_at: Option<EventTime>,
    #[serde(default)]
    resolved_by: Option<String>,
}

#[derive(Deserialize)]
struct ReasonLine {
    feature: String,
    #[serde(default)]
    value: Option<f64>,
}

/// Precision and recall of "score ≥ threshold" against the outcomes.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Confusion {
    pub records: u64,
    pub actionable: u64,
    pub predicted_page: u64,
    pub true_pos: u64,
    pub false_pos: u64,
    pub false_neg: u64,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
}

impl Confusion {
    /// From `(score, actionable)` pairs, paging at `score >= threshold`.
    pub fn at(items: impl IntoIterator<Item = (f64, bool)>, threshold: f64) -> Confusion {
        let mut c = Confusion::default();
        for (s, y) in items {
            let page = s >= threshold;
            c.records += 1;
            c.actionable += y as u64;
            c.predicted_page += page as u64;
            c.true_pos += (page && y) as u64;
            c.false_pos += (page && !y) as u64;
            c.false_neg += (!page && y) as u64;
        }
        c.precision = (c.predicted_page > 0).then(|| c.true_pos as f64 / c.predicted_page as f64);
        c.recall = (c.actionable > 0).then(|| c.true_pos as f64 / c.actionable as f64);
        c
    }
}

/// What `noisegate tune` found.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TuneReport {
    /// Records read (after de-duplication by cluster id).
    pub records: u64,
    /// Records whose cluster id was seen again (the last one is kept).
    pub duplicates: u64,
    /// Records without an outcome (never acked, not resolved), skipped.
    pub skipped_no_outcome: u64,
    pub actionable: u64,
    pub not_actionable: u64,
    pub train_records: u64,
    pub holdout_records: u64,
    pub lambda: f64,
    pub page_threshold: f64,
    pub bias: f64,
    /// Fitted weight per feature: the config's features first, then any other feature the
    /// records carry.
    pub weights: Vec<(String, f64)>,
    pub train: Confusion,
    pub holdout: Confusion,
    /// The configured `[score]` on the holdout, for comparison.
    pub current_holdout: Confusion,
    /// The highest page threshold at which the fitted model still pages at least
    /// [`RECALL_TARGET`] of the actionable training records: missing a real incident costs
    /// more than an extra page, and a calibrated fit on rare positives rarely reaches 0.5.
    pub suggested_threshold: f64,
    /// The fitted model on the holdout at the suggested threshold.
    pub holdout_at_suggested: Confusion,
    /// The configured ticket threshold, lowered to the suggested page threshold if above it.
    pub ticket_threshold: f64,
    pub iterations: u32,
}

fn fnv1a(s: &str) -> u64 {
    crate::event::fnv1a64(s.as_bytes())
}

/// The record's outcome: `Some(true)` actionable, `Some(false)` not, `None` unknown yet.
fn outcome(
    acked: Option<EventTime>,
    resolved: Option<EventTime>,
    by: Option<&str>,
) -> Option<bool> {
    match (acked, resolved) {
        (Some(_), None) => Some(true),
        (Some(a), Some(r)) if a <= r => Some(true),
        (_, Some(_)) => Some(false),
        (None, None) => by.map(|_| false),
    }
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// `ln(1 + e^z)` without overflow.
fn softplus(z: f64) -> f64 {
    if z > 0.0 {
        z + (-z).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

fn dot(beta: &[f64], x: &[f64]) -> f64 {
    beta[0] + beta[1..].iter().zip(x).map(|(b, v)| b * v).sum::<f64>()
}

/// Solves `a · x = b` (`a` is `n × n`, row-major) by Gaussian elimination with partial
/// pivoting. `None` if singular.
fn solve(mut a: Vec<f64>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let piv =
            (col..n).max_by(|&i, &j| a[i * n + col].abs().total_cmp(&a[j * n + col].abs()))?;
        if a[piv * n + col].abs() < 1e-300 {
            return None;
        }
        if piv != col {
            for k in 0..n {
                a.swap(piv * n + k, col * n + k);
            }
            b.swap(piv, col);
        }
        for r in col + 1..n {
            let f = a[r * n + col] / a[col * n + col];
            if f != 0.0 {
                for k in col..n {
                    a[r * n + k] -= f * a[col * n + k];
                }
                b[r] -= f * b[col];
            }
        }
    }
    let mut x = vec![0.0; n];
    for r in (0..n).rev() {
        let s: f64 = (r + 1..n).map(|k| a[r * n + k] * x[k]).sum();
        x[r] = (b[r] - s) / a[r * n + r];
    }
    Some(x)
}

/// The fitted model: `beta[0]` is the bias, `beta[1..]` the weights.
#[derive(Debug, Clone)]
pub struct Fit {
    pub beta: Vec<f64>,
    pub iterations: u32,
}

/// L2-regularised logistic regression by Newton's method with step halving. `xs` holds one
/// row of `d` feature values per record, `ys` the outcomes.
pub fn fit_logistic(xs: &[Vec<f64>], ys: &[bool], lambda: f64) -> Fit {
    let d = xs.first().map_or(0, Vec::len);
    let n = xs.len().max(1) as f64;
    let p = d + 1;
    let objective = |beta: &[f64]| -> f64 {
        let loss: f64 = xs
            .iter()
            .zip(ys)
            .map(|(x, &y)| {
                let z = dot(beta, x);
                softplus(z) - if y { z } else { 0.0 }
            })
            .sum::<f64>()
            / n;
        loss + 0.5 * lambda * beta[1..].iter().map(|w| w * w).sum::<f64>()
    };
    let pos = ys.iter().filter(|&&y| y).count() as f64;
    let rate = ((pos + 0.5) / (n + 1.0)).clamp(1e-6, 1.0 - 1e-6);
    let mut beta = vec![0.0; p];
    beta[0] = (rate / (1.0 - rate)).ln();
    let mut obj = objective(&beta);
    let mut iterations = 0;
    for _ in 0..100 {
        iterations += 1;
        let mut g = vec![0.0; p];
        let mut h = vec![0.0; p * p];
        for (x, &y) in xs.iter().zip(ys) {
            let q = sigmoid(dot(&beta, x));
            let r = q - if y { 1.0 } else { 0.0 };
            let w = (q * (1.0 - q)).max(1e-12);
            let row = |i: usize| if i == 0 { 1.0 } else { x[i - 1] };
            for i in 0..p {
                let xi = row(i);
                g[i] += r * xi;
                for j in i..p {
                    h[i * p + j] += w * xi * row(j);
                }
            }
        }
        for i in 0..p {
            g[i] /= n;
            for j in i..p {
                h[i * p + j] /= n;
                h[j * p + i] = h[i * p + j];
            }
            // The bias gets a vanishing ridge only to keep the system solvable.
            let l = if i == 0 { 1e-9 } else { lambda };
            g[i] += if i == 0 { 0.0 } else { lambda * beta[i] };
            h[i * p + i] += l;
        }
        let Some(step) = solve(h, g) else { break };
        let mut t = 1.0;
        let mut moved = false;
        while t > 1e-8 {
            let cand: Vec<f64> = beta.iter().zip(&step).map(|(b, s)| b - t * s).collect();
            let c = objective(&cand);
            if c <= obj {
                let delta = step.iter().map(|s| (t * s).abs()).fold(0.0, f64::max);
                beta = cand;
                obj = c;
                moved = delta > 1e-9;
                break;
            }
            t *= 0.5;
        }
        if !moved {
            break;
        }
    }
    Fit { beta, iterations }
}

/// One record as read: (holdout, outcome, sparse features by column).
type Row = (bool, Option<bool>, Vec<(usize, f64)>);

/// One record with an outcome.
struct Sample {
    x: Vec<f64>,
    y: bool,
    holdout: bool,
}

/// Reads the history, fits, evaluates.
pub fn run(history: &[PathBuf], cfg: &Config) -> anyhow::Result<TuneReport> {
    let mut names: Vec<String> = FEATURES.iter().map(|s| s.to_string()).collect();
    let mut col: FxHashMap<String, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.clone(), i))
        .collect();
    // cluster id → its row
    let mut by_id: FxHashMap<String, usize> = FxHashMap::default();
    let mut rows: Vec<Row> = Vec::new();
    let mut duplicates = 0u64;
    for path in history {
        let name = path.display().to_string();
        crate::eval::input::for_each_record(path, |line_no, bytes| {
            let r: RecordLine = serde_json::from_slice(bytes)
                .map_err(|e| anyhow!("{name}:{line_no}: bad cluster record: {e}"))?;
            let y = outcome(r.acked_at, r.resolved_at, r.resolved_by.as_deref());
            let mut feats = Vec::with_capacity(r.reasons.len());
            for reason in &r.reasons {
                let next = names.len();
                let i = *col.entry(reason.feature.clone()).or_insert_with(|| {
                    names.push(reason.feature.clone());
                    next
                });
                let v = reason.value.filter(|v| v.is_finite()).unwrap_or(0.0);
                feats.push((i, v));
            }
            let holdout = fnv1a(&r.cluster_id) % HOLDOUT_EVERY == 0;
            let row = (holdout, y, feats);
            match by_id.get(&r.cluster_id) {
                Some(&i) => {
                    duplicates += 1;
                    rows[i] = row;
                }
                None => {
                    by_id.insert(r.cluster_id, rows.len());
                    rows.push(row);
                }
            }
            Ok(())
        })?;
    }
    let d = names.len();
    let mut skipped = 0u64;
    let mut samples = Vec::with_capacity(rows.len());
    for (holdout, y, feats) in &rows {
        let Some(y) = *y else {
            skipped += 1;
            continue;
        };
        let mut x = vec![0.0; d];
        for &(i, v) in feats {
            x[i] = v;
        }
        samples.push(Sample {
            x,
            y,
            holdout: *holdout,
        });
    }
    let (train, hold): (Vec<&Sample>, Vec<&Sample>) = samples.iter().partition(|s| !s.holdout);
    let pos = train.iter().filter(|s| s.y).count();
    if pos == 0 || pos == train.len() {
        bail!(
            "tune needs training records of both outcomes (actionable and not); found {} with an outcome \
             ({} actionable) among {} records, {} without an outcome yet",
            train.len(),
            pos,
            rows.len(),
            skipped
        );
    }
    let xs: Vec<Vec<f64>> = train.iter().map(|s| s.x.clone()).collect();
    let ys: Vec<bool> = train.iter().map(|s| s.y).collect();
    let fit = fit_logistic(&xs, &ys, LAMBDA);
    let score = |s: &Sample| sigmoid(dot(&fit.beta, &s.x));
    let threshold = cfg.engine.score.page_threshold;
    let sc = &cfg.engine.score;
    let w = &sc.weights;
    let current = [
        w.severity,
        w.flapping,
        w.transient,
        w.duplicate_rate,
        w.blast_radius,
        w.after_hours,
        w.actionable_rate,
    ];
    let current_score =
        |s: &Sample| sigmoid(sc.bias + current.iter().zip(&s.x).map(|(w, v)| w * v).sum::<f64>());
    let actionable = samples.iter().filter(|s| s.y).count() as u64;
    let suggested = suggest_threshold(train.iter().map(|s| (score(s), s.y)));
    Ok(TuneReport {
        suggested_threshold: suggested,
        holdout_at_suggested: Confusion::at(hold.iter().map(|s| (score(s), s.y)), suggested),
        ticket_threshold: cfg.engine.score.ticket_threshold.min(suggested),
        records: rows.len() as u64,
        duplicates,
        skipped_no_outcome: skipped,
        actionable,
        not_actionable: samples.len() as u64 - actionable,
        train_records: train.len() as u64,
        holdout_records: hold.len() as u64,
        lambda: LAMBDA,
        page_threshold: threshold,
        bias: fit.beta[0],
        weights: names
            .into_iter()
            .zip(fit.beta[1..].iter().copied())
            .collect(),
        train: Confusion::at(train.iter().map(|s| (score(s), s.y)), threshold),
        holdout: Confusion::at(hold.iter().map(|s| (score(s), s.y)), threshold),
        current_holdout: Confusion::at(hold.iter().map(|s| (current_score(s), s.y)), threshold),
        iterations: fit.iterations,
    })
}

/// Share of actionable training records the suggested threshold must still page.
pub const RECALL_TARGET: f64 = 0.99;

/// The highest threshold (rounded down to 4 decimals) whose recall on `scored` is at least
/// [`RECALL_TARGET`].
fn suggest_threshold(scored: impl Iterator<Item = (f64, bool)>) -> f64 {
    let mut pos: Vec<f64> = scored.filter(|&(_, y)| y).map(|(p, _)| p).collect();
    if pos.is_empty() {
        return 0.5;
    }
    pos.sort_by(|a, b| b.total_cmp(a));
    let need = ((pos.len() as f64) * RECALL_TARGET).ceil() as usize;
    let t = pos[need.clamp(1, pos.len()) - 1];
    (t * 10_000.0).floor() / 10_000.0
}

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{v:.3}"))
}

fn confusion_line(label: &str, c: &Confusion) -> String {
    format!(
        "# {label:<26} precision {}  recall {}  (tp {}, fp {}, fn {}; {} records, {} actionable)\n",
        opt(c.precision),
        opt(c.recall),
        c.true_pos,
        c.false_pos,
        c.false_neg,
        c.records,
        c.actionable
    )
}

impl TuneReport {
    /// A TOML snippet to paste into the config, with the evaluation as comments.
    pub fn render(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "# noisegate tune: logistic regression (L2 λ = {}) on {} cluster records with an outcome\n",
            self.lambda,
            self.actionable + self.not_actionable
        ));
        s.push_str(&format!(
            "#   {} actionable (acked before resolved), {} not; {} skipped without an outcome; {} duplicate ids\n",
            self.actionable, self.not_actionable, self.skipped_no_outcome, self.duplicates
        ));
        s.push_str(&format!(
            "#   train {} / holdout {} (cluster_id hash % {} == 0)\n",
            self.train_records, self.holdout_records, HOLDOUT_EVERY
        ));
        s.push_str(&format!(
            "# at score.page_threshold = {} (page when score >= it):\n",
            self.page_threshold
        ));
        s.push_str(&confusion_line("fitted, train:", &self.train));
        s.push_str(&confusion_line("fitted, holdout:", &self.holdout));
        s.push_str(&confusion_line(
            "current [score], holdout:",
            &self.current_holdout,
        ));
        s.push_str(&format!(
            "# suggested page_threshold {} (fitted model pages >= {:.0} % of actionable training records):\n",
            self.suggested_threshold,
            RECALL_TARGET * 100.0
        ));
        s.push_str(&confusion_line(
            "fitted, holdout, suggested:",
            &self.holdout_at_suggested,
        ));
        s.push_str(&format!(
            "[score]\nbias = {:.4}\npage_threshold = {}\nticket_threshold = {}\n[score.weights]\n",
            self.bias, self.suggested_threshold, self.ticket_threshold
        ));
        for (name, w) in &self.weights {
            if FEATURES.contains(&name.as_str()) {
                s.push_str(&format!("{name} = {w:.4}\n"));
            } else {
                s.push_str(&format!(
                    "# {name} = {w:.4}  (not a config key: the engine does not score it)\n"
                ));
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn suggested_threshold_keeps_recall() {
        let scored = [
            (0.9, true),
            (0.2, true),
            (0.05, true),
            (0.5, false),
            (0.01, false),
        ];
        // 99 % of 3 positives needs all 3: the lowest positive score.
        assert_eq!(suggest_threshold(scored.into_iter()), 0.05);
        assert_eq!(suggest_threshold([(0.3, false)].into_iter()), 0.5);
    }

    #[test]
    fn outcomes() {
        let t = |s: i64| Some(EventTime(s));
        assert_eq!(outcome(t(1), None, None), Some(true));
        assert_eq!(outcome(t(1), t(2), Some("auto")), Some(true));
        assert_eq!(outcome(t(1), t(1), Some("human")), Some(true));
        assert_eq!(
            outcome(t(3), t(2), Some("auto")),
            Some(false),
            "acked after it resolved"
        );
        assert_eq!(outcome(None, t(2), Some("human")), Some(false));
        assert_eq!(outcome(None, t(2), None), Some(false));
        assert_eq!(outcome(None, None, None), None);
    }

    #[test]
    fn confusion_by_hand() {
        // scores vs outcomes at 0.5: tp = 2 (0.9, 0.5), fp = 1 (0.7), fn = 1 (0.2), tn = 1.
        let c = Confusion::at(
            [
                (0.9, true),
                (0.5, true),
                (0.7, false),
                (0.2, true),
                (0.1, false),
            ],
            0.5,
        );
        assert_eq!((c.true_pos, c.false_pos, c.false_neg), (2, 1, 1));
        assert_eq!(c.precision, Some(2.0 / 3.0));
        assert_eq!(c.recall, Some(2.0 / 3.0));
        let none = Confusion::at([(0.1, false)], 0.5);
        assert_eq!((none.precision, none.recall), (None, None));
    }

    #[test]
    fn recovers_a_severity_only_model() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for _ in 0..8000 {
            let x: Vec<f64> = (0..7).map(|_| rng.random::<f64>()).collect();
            let p = sigmoid(-3.0 + 6.0 * x[0]);
            ys.push(rng.random::<f64>() < p);
            xs.push(x);
        }
        let fit = fit_logistic(&xs, &ys, LAMBDA);
        assert!((fit.beta[1] - 6.0).abs() < 1.0, "{:?}", fit.beta);
        assert!((fit.beta[0] + 3.0).abs() < 1.0, "{:?}", fit.beta);
        for w in &fit.beta[2..] {
            assert!(w.abs() < 0.4, "{:?}", fit.beta);
        }
    }

    #[test]
    fn separable_data_stays_finite() {
        let xs: Vec<Vec<f64>> = (0..100).map(|i| vec![(i % 2) as f64, 0.0]).collect();
        let ys: Vec<bool> = (0..100).map(|i| i % 2 == 1).collect();
        let fit = fit_logistic(&xs, &ys, LAMBDA);
        assert!(fit.beta.iter().all(|b| b.is_finite()), "{:?}", fit.beta);
        assert!(fit.beta[1] > 5.0, "{:?}", fit.beta);
        assert!(fit.beta[2].abs() < 1e-6, "{:?}", fit.beta);
    }

    #[test]
    fn solve_small_system() {
        let x = solve(vec![2.0, 1.0, 1.0, 3.0], vec![3.0, 5.0]).unwrap();
        assert!(
            (x[0] - 0.8).abs() < 1e-12 && (x[1] - 1.4).abs() < 1e-12,
            "{x:?}"
        );
        assert!(solve(vec![1.0, 2.0, 2.0, 4.0], vec![1.0, 2.0]).is_none());
    }
}
