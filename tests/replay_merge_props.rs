//! Property: however a stream in event time is split across input files (each file keeping
//! its lines in order), `noisegate replay FILE...` gives exactly what the one file gives.
//! Times here strictly increase, so the merge has one right order, and no jump forward is
//! taken for a wrong clock; ties and re-sends are covered by `replay_cli.rs` on a generated
//! week.

use std::path::Path;

use proptest::prelude::*;

mod support;

/// One Alertmanager webhook line: `alert` fires or resolves at second `t` of the day.
fn line(alert: u8, firing: bool, t: u32) -> String {
    let at = format!(
        "2026-11-30T{:02}:{:02}:{:02}Z",
        t / 3600,
        t / 60 % 60,
        t % 60
    );
    let (status, times) = if firing {
        ("firing", format!(r#""startsAt":"{at}""#))
    } else {
        (
            "resolved",
            format!(r#""startsAt":"2026-11-30T00:00:00Z","endsAt":"{at}""#),
        )
    };
    let sev = ["critical", "error", "warning"][alert as usize % 3];
    format!(
        r#"{{"version":"4","status":"{status}","alerts":[{{"status":"{status}","labels":{{"alertname":"Rule{a}","service":"svc{s}","severity":"{sev}"}},{times}}}]}}"#,
        a = alert % 5,
        s = alert % 3,
    )
}

fn replay(inputs: &[&Path], out: &Path) -> [Vec<u8>; 3] {
    support::noisegate_ok(|c| c.args(["replay", "--quiet", "--out"]).arg(out).args(inputs));
    // Times only go forward here (by up to 15 minutes at a step): no jump is a wrong clock.
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["clock_skewed"], 0, "{summary}");
    ["clusters.ndjson", "pages.ndjson", "rules.json"].map(|f| std::fs::read(out.join(f)).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn any_split_in_order_replays_like_the_whole(
        // (alert, fires?, seconds since the previous line, which file)
        steps in prop::collection::vec((0u8..12, any::<bool>(), 1u32..900, 0usize..3), 1..60),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut t = 0u32;
        let mut whole = String::new();
        let mut parts = [String::new(), String::new(), String::new()];
        for &(alert, firing, gap, file) in &steps {
            t += gap;
            let l = line(alert, firing, t.min(86_399));
            whole.push_str(&l);
            whole.push('\n');
            parts[file].push_str(&l);
            parts[file].push('\n');
        }
        let w = dir.path().join("whole.ndjson");
        std::fs::write(&w, &whole).unwrap();
        let files: Vec<_> = parts
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let f = dir.path().join(format!("part{i}.ndjson"));
                std::fs::write(&f, p).unwrap();
                f
            })
            .collect();
        let one = replay(&[&w], &dir.path().join("one"));
        let split = replay(
            &files.iter().map(|f| f.as_path()).collect::<Vec<_>>(),
            &dir.path().join("split"),
        );
        prop_assert!(!one[0].is_empty(), "some cluster was written");
        for (name, (a, b)) in ["clusters", "pages", "rules"].iter().zip(one.iter().zip(&split)) {
            prop_assert!(a == b, "{} differ", name);
        }
    }
}
