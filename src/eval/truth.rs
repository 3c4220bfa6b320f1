//! The ground truth written by `noisegate gen --truth-out`: incidents and the alert episodes
//! that belong to them, and the matcher from observed alerts (fingerprint + time span) to
//! truth episodes.

use std::path::Path;

use anyhow::{anyhow, bail};
use rustc_hash::FxHashMap;
use serde::Deserialize;

use crate::event::{EventTime, Fingerprint};

/// End of an episode that has not ended.
pub const NEVER: i64 = i64::MAX;

/// One line of the truth file. Unknown fields and unknown kinds are ignored.
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Line {
    Incident(IncidentLine),
    Alert(AlertLine),
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct IncidentLine {
    incident_id: String,
    actionable: bool,
    #[serde(default)]
    started_at: Option<EventTime>,
    #[serde(default)]
    first_ack_at: Option<EventTime>,
    #[serde(default)]
    scenario: Option<String>,
}

#[derive(Deserialize)]
struct AlertLine {
    fingerprint: Fingerprint,
    incident_id: String,
    starts_at: EventTime,
    #[serde(default)]
    ends_at: Option<EventTime>,
}

/// A true incident.
#[derive(Debug, Clone)]
pub struct Incident {
    pub id: String,
    pub actionable: bool,
    /// From the `scenario == "storm"` field.
    pub storm: bool,
    pub first_ack: Option<i64>,
    /// `started_at` as written.
    pub started_at: Option<i64>,
    /// Earliest `starts_at` of its episodes (`None` without episodes).
    pub first_alert: Option<i64>,
}

/// One alert episode: a fingerprint firing over `[start, end)` for an incident.
#[derive(Debug, Clone, Copy)]
pub struct Episode {
    pub fp: u64,
    pub incident: u32,
    pub start: i64,
    /// Exclusive; [`NEVER`] when it did not end.
    pub end: i64,
}

/// Episodes of one fingerprint, sorted by start, with the running maximum of their ends so a
/// backwards scan can stop as soon as no earlier episode can reach the window.
#[derive(Debug, Default)]
struct FpIndex {
    ids: Vec<u32>,
    starts: Vec<i64>,
    max_end: Vec<i64>,
}

/// The loaded ground truth.
#[derive(Debug, Default)]
pub struct Truth {
    pub incidents: Vec<Incident>,
    pub episodes: Vec<Episode>,
    index: FxHashMap<u64, FpIndex>,
}

impl Truth {
    /// Reads a truth file. A line that is not valid JSON of the expected shape, or an alert
    /// naming an incident that has no incident line, is an error naming the file and line.
    pub fn load(path: &Path) -> anyhow::Result<Truth> {
        let name = path.display().to_string();
        let mut incidents: Vec<Incident> = Vec::new();
        let mut by_id: FxHashMap<String, (u32, u64)> = FxHashMap::default();
        // Alerts may come before their incident's line: resolved at the end.
        let mut alerts: Vec<(u64, AlertLine)> = Vec::new();
        super::input::for_each_line(path, |line_no, bytes| {
            let line: Line = serde_json::from_slice(bytes)
                .map_err(|e| anyhow!("{name}:{line_no}: bad truth line: {e}"))?;
            match line {
                Line::Incident(i) => {
                    let idx = incidents.len() as u32;
                    if let Some((_, first)) = by_id.insert(i.incident_id.clone(), (idx, line_no)) {
                        bail!(
                            "{name}:{line_no}: incident {:?} is defined twice (first on line {first})",
                            i.incident_id
                        );
                    }
                    incidents.push(Incident {
                        id: i.incident_id,
                        actionable: i.actionable,
                        storm: i.scenario.as_deref() == Some("storm"),
                        first_ack: i.first_ack_at.map(EventTime::as_millis),
                        started_at: i.started_at.map(EventTime::as_millis),
                        first_alert: None,
                    });
                }
                Line::Alert(a) => alerts.push((line_no, a)),
                Line::Other => {}
            }
            Ok(())
        })?;
        let mut episodes = Vec::with_capacity(alerts.len());
        for (line_no, a) in alerts {
            let Some(&(inc, _)) = by_id.get(&a.incident_id) else {
                bail!(
                    "{name}:{line_no}: alert names incident {:?}, which has no incident line",
                    a.incident_id
                );
            };
            episodes.push(Episode {
                fp: a.fingerprint.0,
                incident: inc,
                start: a.starts_at.as_millis(),
                end: a.ends_at.map_or(NEVER, EventTime::as_millis),
            });
        }
        Ok(Truth::new(incidents, episodes))
    }

    /// Builds the indexes (and each incident's first alert) from incidents and episodes.
    pub fn new(mut incidents: Vec<Incident>, episodes: Vec<Episode>) -> Truth {
        let mut index: FxHashMap<u64, FpIndex> = FxHashMap::default();
        for (i, e) in episodes.iter().enumerate() {
            index.entry(e.fp).or_default().ids.push(i as u32);
            let inc = &mut incidents[e.incident as usize];
            inc.first_alert = Some(inc.first_alert.map_or(e.start, |t| t.min(e.start)));
        }
        for ix in index.values_mut() {
            ix.ids
                .sort_unstable_by_key(|&i| (episodes[i as usize].start, i));
            ix.starts = ix.ids.iter().map(|&i| episodes[i as usize].start).collect();
            let mut m = i64::MIN;
            ix.max_end = ix
                .ids
                .iter()
                .map(|&i| {
                    m = m.max(episodes[i as usize].end);
                    m
                })
                .collect();
        }
        Truth {
            incidents,
            episodes,
            index,
        }
    }

    /// Truth episodes an observed alert (fingerprint `fp`, seen over `[first, last]`) belongs
    /// to, written to `out`: every episode of that fingerprint whose `[start, end)` overlaps
    /// `[first, last]`; if none does, the single closest episode whose gap to it is at most
    /// `slack` ms (ties: the one whose start is nearest `first`). Empty: unmatched.
    pub fn match_alert(&self, fp: u64, first: i64, last: i64, slack: i64, out: &mut Vec<u32>) {
        out.clear();
        let Some(ix) = self.index.get(&fp) else {
            return;
        };
        let last = last.max(first);
        let hi = ix
            .starts
            .partition_point(|&s| s <= last.saturating_add(slack));
        let reach = first.saturating_sub(slack);
        let mut best: Option<(i64, i64, u32)> = None;
        for i in (0..hi).rev() {
            if ix.max_end[i] < reach {
                break;
            }
            let id = ix.ids[i];
            let e = &self.episodes[id as usize];
            if e.start <= last && e.end > first {
                out.push(id);
                continue;
            }
            if !out.is_empty() {
                continue;
            }
            let gap = e
                .start
                .saturating_sub(last)
                .max(first.saturating_sub(e.end))
                .max(0);
            if gap <= slack {
                let cand = (gap, (e.start - first).abs(), id);
                if best.is_none_or(|b| cand < b) {
                    best = Some(cand);
                }
            }
        }
        if out.is_empty() {
            out.extend(best.map(|b| b.2));
        } else {
            out.sort_unstable();
        }
    }

    pub fn storm_incidents(&self) -> usize {
        self.incidents.iter().filter(|i| i.storm).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn truth(eps: &[(u64, i64, i64)]) -> Truth {
        let inc = Incident {
            id: "i".into(),
            actionable: true,
            storm: false,
            first_ack: None,
            started_at: None,
            first_alert: None,
        };
        Truth::new(
            vec![inc],
            eps.iter()
                .map(|&(fp, start, end)| Episode {
                    fp,
                    incident: 0,
                    start,
                    end,
                })
                .collect(),
        )
    }

    #[test]
    fn matches_overlap_then_closest_within_slack() {
        // fp 1: [0,100), [200,300), [1000, never)
        let t = truth(&[(1, 0, 100), (1, 200, 300), (1, 1000, NEVER), (2, 0, 10)]);
        let mut out = Vec::new();
        t.match_alert(1, 50, 250, 60, &mut out);
        assert_eq!(out, vec![0, 1], "spans two episodes: both");
        t.match_alert(1, 150, 160, 60, &mut out);
        assert_eq!(
            out,
            vec![1],
            "gap 40 to the second beats gap 50 to the first"
        );
        t.match_alert(1, 100, 100, 60, &mut out);
        assert_eq!(
            out,
            vec![0],
            "a resolve at the exclusive end matches with gap 0"
        );
        t.match_alert(1, 500, 600, 60, &mut out);
        assert!(out.is_empty());
        t.match_alert(1, 5000, 6000, 60, &mut out);
        assert_eq!(out, vec![2], "open-ended episode");
        t.match_alert(3, 0, 10, 60, &mut out);
        assert!(out.is_empty(), "unknown fingerprint");
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("truth.ndjson");
        std::fs::write(
            &p,
            "{\"kind\":\"incident\",\"incident_id\":\"a\",\"actionable\":true,\"extra\":1}\n\n\
             {\"kind\":\"alert\",\"fingerprint\":\"zz\",\"incident_id\":\"a\",\"starts_at\":\"2024-01-01T00:00:00Z\"}\n",
        )
        .unwrap();
        let e = Truth::load(&p).unwrap_err().to_string();
        assert!(e.contains("truth.ndjson:3"), "{e}");
        std::fs::write(
            &p,
            "{\"kind\":\"alert\",\"fingerprint\":\"0000000000000001\",\"incident_id\":\"nope\",\"starts_at\":\"2024-01-01T00:00:00Z\",\"ends_at\":null}\n",
        )
        .unwrap();
        let e = Truth::load(&p).unwrap_err().to_string();
        assert!(e.contains("truth.ndjson:1") && e.contains("nope"), "{e}");
        std::fs::write(&p, "{\"kind\":\"future\",\"x\":1}\n").unwrap();
        assert_eq!(Truth::load(&p).unwrap().incidents.len(), 0);
    }
}
