//! Log record → [`AlertEvent`]: the one mapping all three front ends share (the rules are in
//! the module docs of `otlp`).
//!
//! Built for batches: a [`Mapper`] lives for one message and remembers, per distinct
//! attribute key, what the key means (label or not, rule name, status, annotation, id), so a
//! key costs one hash probe per record instead of a round of string comparisons against the
//! configuration. Records of one resource usually carry the same attribute keys in the same
//! order; the mapper remembers the merge of the last such key sequence with the resource's
//! labels (a [`Plan`]) and replays it, so the usual record needs no sorting at all.

use std::borrow::Cow;

use super::AnyVal;
use super::Attr;
use crate::decode::{Ctx, DecodeError, DecodeOptions, Decoded};
use crate::event::{
    AlertEvent, Annotations, DedupKey, EventKind, EventTime, Labels, Severity, Source, Str,
};

/// Attributes that carry annotations: never labels.
const ANNOTATION_KEYS: [&str; 4] = ["summary", "description", "runbook_url", "runbook"];

const NONE: u32 = u32::MAX;

/// A key's fixed role in an annotation or id lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Other,
    Summary,
    Description,
    RunbookUrl,
    Runbook,
    AlertFingerprint,
    Fingerprint,
    DedupKey,
}

/// What an attribute key means under the configuration.
#[derive(Debug, Clone, Copy)]
struct KeyInfo {
    /// Becomes a label (admitted by the filter, not a status or annotation attribute).
    label: bool,
    /// Index in `alertname_attributes`, or `NONE`.
    rule: u32,
    /// Index in `status_attributes`, or `NONE`.
    status: u32,
    role: Role,
}

impl KeyInfo {
    fn of(opts: &DecodeOptions, key: &str) -> KeyInfo {
        let index = |names: &[String]| {
            names
                .iter()
                .position(|n| n == key)
                .map_or(NONE, |i| i.min(NONE as usize - 1) as u32)
        };
        let status = index(&opts.otlp.status_attributes);
        KeyInfo {
            label: !ANNOTATION_KEYS.contains(&key)
                && status == NONE
                && opts.otlp.labels.admits(key),
            rule: index(&opts.otlp.alertname_attributes),
            status,
            role: match key {
                "summary" => Role::Summary,
                "description" => Role::Description,
                "runbook_url" => Role::RunbookUrl,
                "runbook" => Role::Runbook,
                "alert.fingerprint" => Role::AlertFingerprint,
                "fingerprint" => Role::Fingerprint,
                "dedup_key" => Role::DedupKey,
                _ => Role::Other,
            },
        }
    }
}

struct KeyEntry {
    /// The key as a label name, made once.
    name: Str,
    hash: u64,
    info: KeyInfo,
}

/// Interns the attribute keys of one message: key → small id → [`KeyEntry`].
#[derive(Default)]
struct KeyCache {
    /// Open addressing, power-of-two size, `NONE` = empty.
    slots: Vec<u32>,
    entries: Vec<KeyEntry>,
}

#[inline]
fn hash_key(b: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = b.len() as u64;
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    h ^ (h >> 29)
}

impl KeyCache {
    fn id(&mut self, opts: &DecodeOptions, key: &str) -> u32 {
        if self.entries.len() * 2 >= self.slots.len() {
            self.grow();
        }
        let h = hash_key(key.as_bytes());
        let mask = self.slots.len() - 1;
        let mut i = h as usize & mask;
        loop {
            let s = self.slots[i];
            if s == NONE {
                let id = self.entries.len() as u32;
                self.entries.push(KeyEntry {
                    name: Str::from(key),
                    hash: h,
                    info: KeyInfo::of(opts, key),
                });
                self.slots[i] = id;
                return id;
            }
            let e = &self.entries[s as usize];
            if e.hash == h && e.name == key {
                return s;
            }
            i = (i + 1) & mask;
        }
    }

    fn grow(&mut self) {
        let n = (self.slots.len() * 2).max(64);
        self.slots.clear();
        self.slots.resize(n, NONE);
        let mask = n - 1;
        for (id, e) in self.entries.iter().enumerate() {
            let mut i = e.hash as usize & mask;
            while self.slots[i] != NONE {
                i = (i + 1) & mask;
            }
            self.slots[i] = id as u32;
        }
    }

    #[inline]
    fn entry(&self, id: u32) -> &KeyEntry {
        &self.entries[id as usize]
    }
}

/// What one attribute list (a record's or a resource's) says about the roles the mapping
/// looks up.
#[derive(Debug, Clone, Copy, Default)]
struct Picks<'r, 'a> {
    /// (index in `alertname_attributes`, value)
    rule: Option<(u32, &'r AnyVal<'a>)>,
    /// (index in `status_attributes`, key, value)
    status: Option<(u32, &'r str, &'r AnyVal<'a>)>,
    summary: Option<&'r AnyVal<'a>>,
    description: Option<&'r AnyVal<'a>>,
    runbook_url: Option<&'r AnyVal<'a>>,
    runbook: Option<&'r AnyVal<'a>>,
    alert_fingerprint: Option<&'r AnyVal<'a>>,
    fingerprint: Option<&'r AnyVal<'a>>,
    dedup_key: Option<&'r AnyVal<'a>>,
}

impl<'r, 'a> Picks<'r, 'a> {
    /// Notes one attribute. Lower name indexes win; on a repeated key the later one wins.
    #[inline]
    fn add(&mut self, info: &KeyInfo, a: &'r Attr<'a>) {
        let v = &a.val;
        if !v.is_present() {
            return;
        }
        if info.rule != NONE && self.rule.is_none_or(|(j, _)| info.rule <= j) {
            self.rule = Some((info.rule, v));
        }
        if info.status != NONE && self.status.is_none_or(|(j, _, _)| info.status <= j) {
            self.status = Some((info.status, &a.key, v));
        }
        let slot = match info.role {
            Role::Other => return,
            Role::Summary => &mut self.summary,
            Role::Description => &mut self.description,
            Role::RunbookUrl => &mut self.runbook_url,
            Role::Runbook => &mut self.runbook,
            Role::AlertFingerprint => &mut self.alert_fingerprint,
            Role::Fingerprint => &mut self.fingerprint,
            Role::DedupKey => &mut self.dedup_key,
        };
        *slot = Some(v);
    }
}

/// Where a label of a record's label set comes from.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// `ResourcePrep::labels[i]`
    Resource(u32),
    /// The record's `k`-th label attribute (see `Mapper::sig_idx`).
    Record(u32),
    /// `alertname` = the rule name.
    RuleName,
}

/// How to assemble the labels of records with one sequence of label keys: the stable sort
/// by name, "last wins" on a repeated name, and the record-wins merge with the resource's
/// labels, worked out once.
#[derive(Default)]
struct Plan {
    /// Key ids of the record's label attributes, in record order.
    sig: Vec<u32>,
    steps: Vec<Step>,
    valid: bool,
}

/// Sorts label pairs by name (byte order, stable) and keeps the last of a repeated name:
/// what [`Labels::from_vec`] does.
fn sort_dedup<T>(v: &mut Vec<T>, name: impl Fn(&T) -> &[u8]) {
    v.sort_by(|a, b| name(a).cmp(name(b)));
    let mut w = 0;
    for r in 0..v.len() {
        if r + 1 < v.len() && name(&v[r]) == name(&v[r + 1]) {
            continue;
        }
        v.swap(w, r);
        w += 1;
    }
    v.truncate(w);
}

/// A resource's contribution, worked out once for all its records.
pub(crate) struct ResourcePrep<'r, 'a> {
    /// Sorted and de-duplicated.
    labels: Vec<(Str, Str)>,
    picks: Picks<'r, 'a>,
    plan: Plan,
}

/// The parts of a `LogRecord` the mapping reads.
pub(crate) struct Record<'r, 'a> {
    pub attrs: &'r [Attr<'a>],
    pub time_unix_nano: u64,
    pub observed_time_unix_nano: u64,
    pub severity_number: i32,
    pub severity_text: &'r str,
    /// The body, if it is a string.
    pub body: Option<&'r str>,
    pub event_name: &'r str,
}

/// Where a record sits in the request, for error messages.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Pos {
    pub resource: usize,
    pub scope: usize,
    pub record: usize,
}

impl Pos {
    fn record_path(&self) -> String {
        format!(
            "resourceLogs[{}].scopeLogs[{}].logRecords[{}]",
            self.resource, self.scope, self.record
        )
    }
}

fn parse_status(s: &str) -> Option<EventKind> {
    const FIRING: [&str; 6] = [
        "firing",
        "alerting",
        "active",
        "triggered",
        "open",
        "problem",
    ];
    const RESOLVED: [&str; 6] = [
        "resolved",
        "ok",
        "inactive",
        "normal",
        "closed",
        "recovered",
    ];
    const ACK: [&str; 2] = ["acknowledged", "ack"];
    let s = s.trim();
    let is = |set: &[&str]| set.iter().any(|w| w.eq_ignore_ascii_case(s));
    if is(&FIRING) {
        Some(EventKind::Firing)
    } else if is(&RESOLVED) {
        Some(EventKind::Resolved)
    } else if is(&ACK) {
        Some(EventKind::Acknowledged)
    } else {
        None
    }
}

/// Maps the records of one message.
pub(crate) struct Mapper<'c> {
    opts: &'c DecodeOptions,
    received_at: Option<EventTime>,
    keys: KeyCache,
    /// Per record: key id of each attribute.
    ids: Vec<u32>,
    /// Per record: key ids of the label attributes, and their attribute indexes.
    sig: Vec<u32>,
    sig_idx: Vec<u32>,
    /// Working space for planning.
    plan_items: Vec<(Str, Step)>,
    pub(crate) decoded: Decoded,
}

impl<'c> Mapper<'c> {
    pub(crate) fn new(ctx: &Ctx<'c>) -> Self {
        Mapper {
            opts: ctx.opts,
            received_at: ctx.received_at,
            keys: KeyCache::default(),
            ids: Vec::new(),
            sig: Vec::new(),
            sig_idx: Vec::new(),
            plan_items: Vec::new(),
            decoded: Decoded::default(),
        }
    }

    pub(crate) fn resource<'r, 'a>(&mut self, attrs: &'r [Attr<'a>]) -> ResourcePrep<'r, 'a> {
        let mut labels = Vec::with_capacity(attrs.len());
        let mut picks = Picks::default();
        for a in attrs {
            let id = self.keys.id(self.opts, &a.key);
            let e = self.keys.entry(id);
            picks.add(&e.info, a);
            if e.info.label {
                if let Some(v) = a.val.to_label() {
                    labels.push((e.name.clone(), v));
                }
            }
        }
        sort_dedup(&mut labels, |(k, _)| k.as_bytes());
        ResourcePrep {
            labels,
            picks,
            plan: Plan::default(),
        }
    }

    /// (Re)computes the plan for the current `sig`.
    fn plan(&mut self, res: &mut ResourcePrep<'_, '_>) {
        let items = &mut self.plan_items;
        items.clear();
        for (k, &id) in self.sig.iter().enumerate() {
            items.push((self.keys.entry(id).name.clone(), Step::Record(k as u32)));
        }
        items.push((Str::const_new("alertname"), Step::RuleName));
        sort_dedup(items, |(k, _)| k.as_bytes());
        let plan = &mut res.plan;
        plan.steps.clear();
        let mut base = res.labels.iter().enumerate().peekable();
        for (name, step) in items.iter() {
            while let Some((i, (bk, _))) =
                base.next_if(|(_, (bk, _))| bk.as_bytes() <= name.as_bytes())
            {
                if bk != name {
                    plan.steps.push(Step::Resource(i as u32));
                }
            }
            plan.steps.push(*step);
        }
        plan.steps
            .extend(base.map(|(i, _)| Step::Resource(i as u32)));
        plan.sig.clear();
        plan.sig.extend_from_slice(&self.sig);
        plan.valid = true;
    }

    /// Maps one log record: appends its event to `out`, or counts it as ignored (no rule
    /// name).
    pub(crate) fn record(
        &mut self,
        res: &mut ResourcePrep<'_, '_>,
        rec: &Record<'_, '_>,
        pos: Pos,
        out: &mut Vec<AlertEvent>,
    ) -> Result<(), DecodeError> {
        let opts = self.opts;
        // Key ids: records mostly repeat the previous record's keys in the same order, so
        // try that first (one comparison instead of a hash probe).
        let mut rp = Picks::default();
        let prev = self.ids.len();
        for (j, a) in rec.attrs.iter().enumerate() {
            let id = match self.ids.get(j) {
                Some(&id) if j < prev && self.keys.entry(id).name == *a.key => id,
                _ => self.keys.id(opts, &a.key),
            };
            if j < self.ids.len() {
                self.ids[j] = id;
            } else {
                self.ids.push(id);
            }
            rp.add(&self.keys.entry(id).info, a);
        }
        self.ids.truncate(rec.attrs.len());

        let alertname = match rp.rule.or(res.picks.rule).and_then(|(_, v)| v.to_label()) {
            Some(n) => n,
            None if !rec.event_name.is_empty() => Str::from(rec.event_name),
            None => {
                self.decoded.ignored += 1;
                return Ok(());
            }
        };

        let has_status = rp.status.or(res.picks.status).is_some();
        let kind = match rp.status.or(res.picks.status) {
            None => EventKind::Firing,
            Some((_, key, v)) => {
                let text = match v {
                    AnyVal::Str(s) => Cow::Borrowed(&**s),
                    other => Cow::Owned(other.to_text().unwrap_or_default()),
                };
                match parse_status(&text) {
                    Some(k) => k,
                    None => {
                        let scope = if rp.status.is_some() {
                            pos.record_path()
                        } else {
                            format!("resourceLogs[{}].resource", pos.resource)
                        };
                        return Err(DecodeError::invalid(
                            format!("{scope}.attributes[{key}]"),
                            format!(
                                "unknown alert status {text:?}: expected firing, resolved or \
                                 acknowledged (or alerting/active/triggered/open/problem, \
                                 ok/inactive/normal/closed/recovered, ack)"
                            ),
                        ));
                    }
                }
            }
        };

        let ns = if rec.time_unix_nano != 0 {
            rec.time_unix_nano
        } else {
            rec.observed_time_unix_nano
        };
        let time = if ns != 0 {
            EventTime::from_unix_nanos(ns)
        } else if let Some(t) = self.received_at {
            t
        } else {
            return Err(DecodeError::missing(format!(
                "{}.timeUnixNano",
                pos.record_path()
            )));
        };

        // Labels: replay the plan for this key sequence (or make one).
        self.sig.clear();
        self.sig_idx.clear();
        for (j, (a, &id)) in rec.attrs.iter().zip(&self.ids).enumerate() {
            if self.keys.entry(id).info.label && !matches!(a.val, AnyVal::Null) {
                self.sig.push(id);
                self.sig_idx.push(j as u32);
            }
        }
        if !res.plan.valid || res.plan.sig != self.sig {
            self.plan(res);
        }
        let mut pairs = Vec::with_capacity(res.plan.steps.len());
        for step in &res.plan.steps {
            pairs.push(match *step {
                Step::Resource(i) => res.labels[i as usize].clone(),
                Step::Record(k) => {
                    let a = &rec.attrs[self.sig_idx[k as usize] as usize];
                    let name = self.keys.entry(self.sig[k as usize]).name.clone();
                    (name, a.val.to_label().unwrap_or_default())
                }
                Step::RuleName => (Str::const_new("alertname"), alertname.clone()),
            });
        }
        let labels = Labels::from_vec(pairs);

        let severity = Severity::from_otel_number(rec.severity_number)
            .or_else(|| Severity::parse_loose(rec.severity_text))
            .or_else(|| opts.severity_label_of(&labels))
            .unwrap_or(opts.default_severity);

        let (p, q) = (&rp, &res.picks);
        let text = |r: Option<&AnyVal<'_>>| r.and_then(AnyVal::to_text);
        let annotations = Annotations {
            summary: text(p.summary.or(q.summary))
                .or_else(|| rec.body.filter(|b| !b.is_empty()).map(String::from)),
            description: text(p.description.or(q.description)),
            runbook: text(p.runbook_url.or(p.runbook).or(q.runbook_url).or(q.runbook)),
        };
        let source_id = p
            .alert_fingerprint
            .or(p.fingerprint)
            .or(q.alert_fingerprint)
            .or(q.fingerprint)
            .and_then(AnyVal::to_label);
        let dedup_key = p
            .dedup_key
            .or(q.dedup_key)
            .and_then(AnyVal::to_label)
            .map(DedupKey);

        out.push(AlertEvent {
            source: Source::Otlp,
            kind,
            time,
            fingerprint: labels.fingerprint(),
            source_id,
            dedup_key,
            alertname,
            service: opts.service_of(&labels),
            team: opts.team_of(&labels),
            labels,
            annotations,
            severity,
            actor: None,
            // A record with no status is a point-in-time alert: it resolves by itself unless
            // it is sent again within the timeout.
            ends_at: match opts.otlp.resolve_timeout_ms {
                Some(ms) if !has_status => Some(time.saturating_add_ms(ms)),
                _ => None,
            },
            sender: None,
            group: None,
            listed: None,
        });
        self.decoded.events += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig {
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        /// The plan (sort, last wins, record-wins merge) gives what `Labels::from_vec` gives
        /// for resource labels followed by record labels followed by the rule name.
        #[test]
        fn plan_equals_from_vec(
            res in prop::collection::vec(("[abc]{0,2}", "[xy]{0,2}"), 0..8),
            rec in prop::collection::vec(("[abc]{0,2}|alertname", "[xy]{0,2}"), 0..8),
        ) {
            let opts = DecodeOptions::default();
            let ctx = Ctx { opts: &opts, received_at: None };
            let attr = |(k, v): &(String, String)| Attr {
                key: Cow::Owned(k.clone()),
                val: AnyVal::Str(Cow::Owned(v.clone())),
            };
            let res_attrs: Vec<Attr<'_>> = res.iter().map(attr).collect();
            let rec_attrs: Vec<Attr<'_>> = rec.iter().map(attr).collect();
            let mut m = Mapper::new(&ctx);
            let mut prep = m.resource(&res_attrs);
            m.sig.clear();
            m.sig_idx.clear();
            for (j, a) in rec_attrs.iter().enumerate() {
                m.sig.push(m.keys.id(&opts, &a.key));
                m.sig_idx.push(j as u32);
            }
            m.plan(&mut prep);
            let got: Vec<(Str, Str)> = prep.plan.steps.iter().map(|s| match *s {
                Step::Resource(i) => prep.labels[i as usize].clone(),
                Step::Record(k) => (Str::from(&rec[k as usize].0), Str::from(&rec[k as usize].1)),
                Step::RuleName => (Str::from("alertname"), Str::from("RULE")),
            }).collect();
            let want = Labels::from_pairs(
                res.iter().cloned()
                    .chain(rec.iter().cloned())
                    .chain([("alertname".to_string(), "RULE".to_string())]),
            );
            prop_assert_eq!(Labels::from_vec(got.clone()), want.clone());
            // Already sorted and unique: `from_vec` has nothing left to do.
            prop_assert_eq!(got, want.iter().map(|(k, v)| (Str::from(k), Str::from(v))).collect::<Vec<_>>());
        }
    }
}
