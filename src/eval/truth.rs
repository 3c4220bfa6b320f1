//! The ground truth written by `noisegate gen --truth-out`: incidents and the alert episodes
//! that belong to them, and the matcher from observed alerts (fingerprint + time span) to
//! truth episodes.
//!
//! Lines carry `kind: "incident"` or `kind: "alert"`. Without `kind`, a line with a
//! `fingerprint` is an alert and one with only an `incident_id` an incident. An alert line
//! without `kind` may say `actionable` itself: the simplest truth a team can export (each
//! alert, its incident, whether it was acted on) needs no incident lines. An alert without
//! `starts_at` matches its fingerprint at any time. Times may be RFC 3339 or epoch numbers
//! in any of the usual units, flags `true` or `1` or `"yes"`, as exports write them.
//!
//! An alert line's `fingerprint` is our fingerprint (16 hex digits, which is also
//! Alertmanager's for an alert it sent unchanged) or the id the sending system knows the
//! alert by (a PagerDuty `dedup_key`, Grafana's fingerprint): truth labelled from another
//! tool's history names alerts that way, and cluster records carry that id as `source_id`.

use std::path::Path;

use anyhow::{anyhow, bail};
use rustc_hash::FxHashMap;
use serde::Deserialize;

use crate::event::{fnv1a64, EventTime, Fingerprint};

/// End of an episode that has not ended.
pub const NEVER: i64 = i64::MAX;
/// Start of an episode whose start the truth does not give.
pub const ALWAYS: i64 = i64::MIN;

/// One line of the truth file, every field optional until its kind is known. Unknown
/// fields and unknown kinds are ignored.
#[derive(Deserialize)]
struct Line {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    incident_id: Option<String>,
    #[serde(default, deserialize_with = "truth_bool")]
    actionable: Option<bool>,
    #[serde(default, deserialize_with = "truth_time")]
    started_at: Option<EventTime>,
    #[serde(default, deserialize_with = "truth_time")]
    first_ack_at: Option<EventTime>,
    #[serde(default)]
    scenario: Option<String>,
    #[serde(default)]
    fingerprint: Option<String>,
    #[serde(default, deserialize_with = "truth_time")]
    starts_at: Option<EventTime>,
    #[serde(default, deserialize_with = "truth_time")]
    ends_at: Option<EventTime>,
}

/// A truth flag: `true`/`false`, or as spreadsheets and SQL exports write it (`1`/`0`,
/// `"true"`, `"yes"`, `"no"`, any case). Anything else is an error, not a guess.
fn truth_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Bool(bool),
        Int(i64),
        Text(String),
    }
    let bad = |what: String| serde::de::Error::custom(format!("not a true/false flag: {what}"));
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Bool(b)) => Ok(Some(b)),
        Some(Raw::Int(1)) => Ok(Some(true)),
        Some(Raw::Int(0)) => Ok(Some(false)),
        Some(Raw::Int(v)) => Err(bad(v.to_string())),
        Some(Raw::Text(t)) => match t.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "1" => Ok(Some(true)),
            "false" | "no" | "n" | "0" => Ok(Some(false)),
            _ => Err(bad(format!("{t:?}"))),
        },
    }
}

/// A truth time: RFC 3339 text, or a number since the Unix epoch in seconds (fractions
/// allowed), milliseconds, microseconds or nanoseconds, told apart by magnitude as log tools
/// do: a time after 1973 in milliseconds is at least 10^11, and one before the year 5138 in
/// seconds is less. Exports disagree on the unit (Python's `time.time()` and PagerDuty's
/// analytics give seconds, JavaScript milliseconds, OpenTelemetry nanoseconds), and reading
/// seconds as milliseconds would put every incident in January 1970 and match nothing.
fn truth_time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<EventTime>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        // An f64 holds any of these to well under a millisecond.
        Number(f64),
        Text(String),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Number(v)) => {
            let ms = match v.abs() {
                a if a < 1e11 => v * 1e3,
                a if a < 1e14 => v,
                a if a < 1e17 => v / 1e3,
                _ => v / 1e6,
            };
            // In range: i64 milliseconds reach far past any calendar year.
            (ms.is_finite() && ms.abs() < 9e18)
                .then(|| Some(EventTime(ms.round() as i64)))
                .ok_or_else(|| serde::de::Error::custom(format!("time out of range: {v}")))
        }
        Some(Raw::Text(s)) => EventTime::parse_rfc3339(&s).map(Some).ok_or_else(|| {
            serde::de::Error::custom(format!("not an RFC 3339 time or epoch number: {s:?}"))
        }),
    }
}

struct AlertLine {
    fingerprint: String,
    incident_id: String,
    /// What the alert line says of its incident (lines without `kind`).
    actionable: Option<bool>,
    starts_at: Option<EventTime>,
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

/// The matching key of an alert id: the fingerprint itself when it is one (16 hex
/// digits), else a 64-bit hash of the id (a sender's id such as a PagerDuty `dedup_key`).
pub fn key_of(id: &str) -> u64 {
    Fingerprint::parse_hex(id).map_or_else(|| fnv1a64(id.as_bytes()), |f| f.0)
}

/// One alert episode: an alert (its [`key_of`]) firing over `[start, end)` for an incident.
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
    /// The ids written in the file for keys that are not fingerprints (for messages).
    names: FxHashMap<u64, Box<str>>,
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
        super::input::for_each_record(path, |line_no, bytes| {
            let l: Line = serde_json::from_slice(bytes)
                .map_err(|e| anyhow!("{name}:{line_no}: bad truth line: {e}"))?;
            let missing =
                |key: &str, kind: &str| anyhow!("{name}:{line_no}: {kind} line without `{key}`");
            match (l.kind.as_deref(), &l.fingerprint) {
                (Some("incident"), _) | (None, None) => {
                    if l.kind.is_none() && l.incident_id.is_none() {
                        return Ok(()); // neither an alert nor an incident
                    }
                    let id = l
                        .incident_id
                        .ok_or_else(|| missing("incident_id", "incident"))?;
                    let actionable = l
                        .actionable
                        .ok_or_else(|| missing("actionable", "incident"))?;
                    let idx = incidents.len() as u32;
                    if let Some((_, first)) = by_id.insert(id.clone(), (idx, line_no)) {
                        bail!(
                            "{name}:{line_no}: incident {id:?} is defined twice (first on line {first})"
                        );
                    }
                    incidents.push(Incident {
                        id,
                        actionable,
                        storm: l.scenario.as_deref() == Some("storm"),
                        first_ack: l.first_ack_at.map(EventTime::as_millis),
                        started_at: l.started_at.map(EventTime::as_millis),
                        first_alert: None,
                    });
                }
                (Some("alert"), _) | (None, Some(_)) => {
                    let kind = if l.kind.is_some() {
                        "alert"
                    } else {
                        "kind-less"
                    };
                    alerts.push((
                        line_no,
                        AlertLine {
                            fingerprint: l
                                .fingerprint
                                .ok_or_else(|| missing("fingerprint", kind))?,
                            incident_id: l
                                .incident_id
                                .ok_or_else(|| missing("incident_id", kind))?,
                            // An alert line of kind "alert" leaves its incident to the
                            // incident line.
                            actionable: l.actionable.filter(|_| l.kind.is_none()),
                            starts_at: l.starts_at,
                            ends_at: l.ends_at,
                        },
                    ))
                }
                _ => {}
            }
            Ok(())
        })?;
        // Incidents known only from their alerts' lines, in order of first mention.
        for (line_no, a) in &alerts {
            let Some(actionable) = a.actionable else {
                continue;
            };
            match by_id.get(&a.incident_id) {
                Some(&(inc, first)) if incidents[inc as usize].actionable != actionable => bail!(
                    "{name}:{line_no}: alert says incident {:?} is {}actionable; line {first} said otherwise",
                    a.incident_id,
                    if actionable { "" } else { "not " }
                ),
                Some(_) => {}
                None => {
                    by_id.insert(a.incident_id.clone(), (incidents.len() as u32, *line_no));
                    incidents.push(Incident {
                        id: a.incident_id.clone(),
                        actionable,
                        storm: false,
                        first_ack: None,
                        started_at: None,
                        first_alert: None,
                    });
                }
            }
        }
        let mut episodes = Vec::with_capacity(alerts.len());
        let mut names = FxHashMap::default();
        for (line_no, a) in alerts {
            let Some(&(inc, _)) = by_id.get(&a.incident_id) else {
                bail!(
                    "{name}:{line_no}: alert names incident {:?}, which has no incident line \
                     (or give the alert `actionable` itself, without `kind`)",
                    a.incident_id
                );
            };
            if a.fingerprint.trim().is_empty() {
                bail!("{name}:{line_no}: alert has an empty fingerprint");
            }
            let fp = key_of(&a.fingerprint);
            if Fingerprint::parse_hex(&a.fingerprint).is_none() {
                names.insert(fp, a.fingerprint.into_boxed_str());
            }
            episodes.push(Episode {
                fp,
                incident: inc,
                start: a.starts_at.map_or(ALWAYS, EventTime::as_millis),
                end: a.ends_at.map_or(NEVER, EventTime::as_millis),
            });
        }
        let mut truth = Truth::new(incidents, episodes);
        truth.names = names;
        Ok(truth)
    }

    /// An alert key as the truth file wrote it.
    pub fn alert_name(&self, key: u64) -> String {
        self.names
            .get(&key)
            .map_or_else(|| Fingerprint(key).to_string(), |n| n.to_string())
    }

    /// Builds the indexes (and each incident's first alert) from incidents and episodes.
    pub fn new(mut incidents: Vec<Incident>, episodes: Vec<Episode>) -> Truth {
        let mut index: FxHashMap<u64, FpIndex> = FxHashMap::default();
        for (i, e) in episodes.iter().enumerate() {
            index.entry(e.fp).or_default().ids.push(i as u32);
            let inc = &mut incidents[e.incident as usize];
            if e.start != ALWAYS {
                inc.first_alert = Some(inc.first_alert.map_or(e.start, |t| t.min(e.start)));
            }
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
            names: FxHashMap::default(),
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
                let cand = (gap, e.start.saturating_sub(first).saturating_abs(), id);
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
    fn alerts_are_keyed_by_fingerprint_or_by_the_senders_id() {
        assert_eq!(key_of("00000000000000ff"), 0xff);
        assert_eq!(key_of("00000000000000FF"), 0xff);
        let k = key_of("checkout/latency");
        assert_eq!(k, key_of("checkout/latency"));
        assert_ne!(k, key_of("checkout/latency2"));
        // 15 hex digits is not a fingerprint: hashed like any other id.
        assert_ne!(key_of("00000000000000f"), 0xf);
    }

    #[test]
    fn bad_lines_name_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("truth.ndjson");
        std::fs::write(
            &p,
            "{\"kind\":\"incident\",\"incident_id\":\"a\",\"actionable\":true,\"extra\":1}\n\n\
             {\"kind\":\"alert\",\"fingerprint\":7,\"incident_id\":\"a\",\"starts_at\":\"2024-01-01T00:00:00Z\"}\n",
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
        std::fs::write(
            &p,
            "{\"kind\":\"incident\",\"incident_id\":\"a\",\"actionable\":true}\n\
             {\"kind\":\"alert\",\"fingerprint\":\" \",\"incident_id\":\"a\",\"starts_at\":\"2024-01-01T00:00:00Z\"}\n",
        )
        .unwrap();
        let e = Truth::load(&p).unwrap_err().to_string();
        assert!(e.contains("truth.ndjson:2") && e.contains("empty"), "{e}");
        std::fs::write(&p, "{\"kind\":\"future\",\"x\":1}\n").unwrap();
        assert_eq!(Truth::load(&p).unwrap().incidents.len(), 0);
    }

    #[test]
    fn a_truth_exported_as_one_json_array_reads_as_its_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("truth.json");
        std::fs::write(
            &p,
            "[\n  {\n    \"incident_id\": \"a\",\n    \"actionable\": true,\n    \"first_ack_at\": 1793672040\n  },\n  \
             {\"fingerprint\": \"0000000000000001\", \"incident_id\": \"a\"}\n]\n",
        )
        .unwrap();
        let t = Truth::load(&p).unwrap();
        assert_eq!(t.incidents.len(), 1);
        assert_eq!(t.incidents[0].first_ack, Some(1_793_672_040_000));
        assert!(t.incidents[0].actionable);
        // A broken element is an error naming the line it starts on.
        std::fs::write(
            &p,
            "[\n  {\"incident_id\": \"a\", \"actionable\": true},\n  {\"incident_id\": 7}\n]\n",
        )
        .unwrap();
        let e = Truth::load(&p).unwrap_err().to_string();
        assert!(e.contains("truth.json:3"), "{e}");
    }

    #[test]
    fn times_and_flags_are_read_as_exports_write_them() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("truth.ndjson");
        // One instant, 2026-11-03T02:14:00.500Z, written six ways.
        let forms = [
            "\"2026-11-03T02:14:00.500Z\"",
            "1793672040.5",
            "1793672040500",
            "1793672040500000",
            "1793672040500000000",
            "\"2026-11-03T03:14:00.500+01:00\"",
        ];
        let flags = ["true", "1", "\"yes\"", "\"TRUE\"", "\"y\"", "\"1\""];
        let text: String = forms
            .iter()
            .zip(flags)
            .enumerate()
            .map(|(i, (t, f))| {
                format!("{{\"incident_id\":\"i{i}\",\"actionable\":{f},\"first_ack_at\":{t}}}\n")
            })
            .collect();
        std::fs::write(&p, text).unwrap();
        let t = Truth::load(&p).unwrap();
        assert_eq!(t.incidents.len(), forms.len());
        for i in &t.incidents {
            assert_eq!(i.first_ack, Some(1_793_672_040_500), "{}", i.id);
            assert!(i.actionable, "{}", i.id);
        }
        // Whole seconds stay exact, and so does "false" as 0.
        std::fs::write(
            &p,
            "{\"incident_id\":\"a\",\"actionable\":0,\"first_ack_at\":1793672040}\n",
        )
        .unwrap();
        let t = Truth::load(&p).unwrap();
        assert_eq!(t.incidents[0].first_ack, Some(1_793_672_040_000));
        assert!(!t.incidents[0].actionable);
        for bad in ["\"maybe\"", "2"] {
            std::fs::write(
                &p,
                format!("{{\"incident_id\":\"a\",\"actionable\":{bad}}}\n"),
            )
            .unwrap();
            let e = Truth::load(&p).unwrap_err().to_string();
            assert!(e.contains("truth.ndjson:1") && e.contains("flag"), "{e}");
        }
    }
}
