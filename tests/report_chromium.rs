//! The HTML report in a real browser: headless Chromium (Debian `chromium`, installed by
//! `.ci/run`) loads it with no console messages and no network requests, renders every
//! chart beside its table, and screenshots it at desktop and A4 size (kept in
//! `target/report-artifacts/` for CI).
//!
//! Why the command line and not the DevTools protocol: Chromium's own logging already
//! shows what we need without a WebSocket client (none in Python's stdlib, no new crate):
//! - console: `--enable-logging=stderr` prints every console message, including CSP
//!   violations, as an `INFO:CONSOLE` line; the report has no scripts, so any such line is
//!   a failure;
//! - network: `--log-net-log` records every URL request with its initiator; requests the
//!   page makes have the document's origin as initiator (`null` for a file), Chromium's
//!   own background requests have none ("not an origin"), so those are told apart.
//!
//! The report also carries `Content-Security-Policy: default-src 'none'`, so a fetch would
//! be blocked and logged as a console message as well. A missing browser fails the test.

use std::path::{Path, PathBuf};
use std::process::Command;

fn artifacts() -> PathBuf {
    // target/tmp → target/report-artifacts
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("report-artifacts");
    std::fs::create_dir_all(&dir).expect("create target/report-artifacts");
    dir
}

fn chromium() -> PathBuf {
    for name in ["chromium", "chromium-browser"] {
        if let Ok(out) = Command::new("sh")
            .args(["-c", &format!("command -v {name}")])
            .output()
        {
            let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if out.status.success() && !p.is_empty() {
                return PathBuf::from(p);
            }
        }
    }
    panic!(
        "headless Chromium is required for this test and was not found on PATH. Install it: \
         `DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium` \
         (.ci/run does this)"
    );
}

/// Writes the golden week's HTML report and returns its path.
fn html_report(dir: &Path) -> PathBuf {
    let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/report");
    let out = dir.join("report.html");
    let st = Command::new(env!("CARGO_BIN_EXE_noisegate"))
        .args(["report", "--week", "2026-W43", "--format", "html"])
        .arg("--config")
        .arg(fx.join("oncall.toml"))
        .arg("--clusters")
        .arg(fx.join("week.ndjson"))
        .arg("--out")
        .arg(&out)
        .status()
        .expect("run noisegate report");
    assert!(st.success());
    out
}

struct Run {
    stdout: String,
    stderr: String,
}

fn run_chromium(profile: &Path, args: &[String], url: &str) -> Run {
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .output()
        .expect("start chromium");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "chromium failed: {stderr}");
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
    }
}

fn console_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains(":CONSOLE")).collect()
}

/// URLs the page itself requested, from a Chromium net log.
fn page_requests(netlog: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(netlog).expect("net log written");
    // Chromium finishes the file on a clean exit; tolerate a cut-off tail just in case.
    let v: serde_json::Value = serde_json::from_str(&text)
        .or_else(|_| {
            serde_json::from_str(&(text.trim_end().trim_end_matches(',').to_string() + "]}"))
        })
        .expect("net log is JSON");
    let start_job = v["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
        .as_u64()
        .expect("net log constants name URL_REQUEST_START_JOB");
    v["events"]
        .as_array()
        .expect("net log events")
        .iter()
        .filter(|e| e["type"].as_u64() == Some(start_job))
        .filter(|e| e["params"]["initiator"].as_str() != Some("not an origin"))
        .filter_map(|e| e["params"]["url"].as_str().map(str::to_string))
        .collect()
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(p: &Path) -> (u32, u32) {
    let b = std::fs::read(p).expect("screenshot written");
    assert_eq!(&b[1..4], b"PNG", "{} is not a PNG", p.display());
    let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    (be(16), be(20))
}

#[test]
fn html_report_renders_offline_in_chromium() {
    let art = artifacts();
    let tmp = tempfile::tempdir().expect("tempdir");
    let html = html_report(&art);
    let url = format!("file://{}", html.display());

    // 1. Load and dump the rendered DOM, with console logging and a net log.
    let netlog = tmp.path().join("netlog.json");
    let run = run_chromium(
        &tmp.path().join("p1"),
        &[
            format!("--log-net-log={}", netlog.display()),
            "--dump-dom".into(),
        ],
        &url,
    );
    let console = console_lines(&run.stderr);
    assert!(console.is_empty(), "console messages: {console:#?}");
    let reqs = page_requests(&netlog);
    assert!(reqs.is_empty(), "the page made network requests: {reqs:#?}");

    let dom = &run.stdout;
    assert!(
        dom.contains("On-call health report 2026-W43"),
        "title missing"
    );
    // Headline numbers (hand-computed in report_golden.rs).
    for (metric, value) in [
        ("pages", "11"),
        ("after_hours_pages", "8"),
        ("sleep_pages", "6"),
        ("nights_with_2plus_wakeups", "2"),
        ("actionable_rate", "45%"),
        ("mtta_p50_s", "10m00s"),
        ("mttr_p50_s", "20m00s"),
    ] {
        let needle = format!(r#"data-metric="{metric}"><div class="v">{value}</div>"#);
        assert!(
            dom.contains(&needle),
            "headline {metric} = {value} not rendered"
        );
    }
    // Every chart has an accessible SVG and its data table.
    let figures: Vec<&str> = dom
        .split(r#"<figure class="chart""#)
        .skip(1)
        .map(|f| f.split("</figure>").next().unwrap_or(""))
        .collect();
    assert_eq!(figures.len(), 4, "four charts expected");
    for f in &figures {
        let id = f.split('"').nth(1).unwrap_or("?");
        assert!(
            f.contains("<svg") && f.contains("<title") && f.contains("<desc"),
            "{id}: SVG with title and desc"
        );
        assert!(
            f.contains("<table") && f.contains("<tbody>"),
            "{id}: no table"
        );
    }
    for id in [
        "chart-pages-per-day",
        "chart-hour-of-week",
        "chart-offenders",
        "chart-actionable-trend",
    ] {
        assert!(dom.contains(&format!(r#"id="{id}""#)), "{id} missing");
    }
    assert!(
        dom.contains("add or extend <code>for: 5m</code>") || dom.contains("`for: 5m`"),
        "recommendation missing"
    );

    // 2. Screenshots: desktop, and an A4 page at 96 dpi (794 × 1123 px); a PDF on A4.
    let desk = art.join("report-desktop.png");
    let run = run_chromium(
        &tmp.path().join("p2"),
        &[
            format!("--screenshot={}", desk.display()),
            "--window-size=1280,1800".into(),
        ],
        &url,
    );
    assert!(console_lines(&run.stderr).is_empty());
    assert_eq!(png_size(&desk), (1280, 1800));
    let a4 = art.join("report-a4.png");
    run_chromium(
        &tmp.path().join("p3"),
        &[
            format!("--screenshot={}", a4.display()),
            "--window-size=794,1123".into(),
        ],
        &url,
    );
    assert_eq!(png_size(&a4), (794, 1123));
    let pdf = art.join("report-a4.pdf");
    run_chromium(
        &tmp.path().join("p4"),
        &[
            format!("--print-to-pdf={}", pdf.display()),
            "--no-pdf-header-footer".into(),
        ],
        &url,
    );
    let bytes = std::fs::read(&pdf).expect("pdf written");
    assert!(bytes.starts_with(b"%PDF"), "not a PDF");
    // A4 is 595 × 842 points; Chromium writes the page box as a MediaBox.
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains("/MediaBox [0 0 594.95996 841.91998]") || text.contains("/MediaBox [0 0 595"),
        "PDF pages are not A4"
    );
    let pages = text.matches("/Type /Page\n").count()
        + text.matches("/Type /Page ").count()
        + text.matches("/Type /Page>").count();
    assert!(pages >= 1, "PDF has no pages");
}

#[test]
fn chromium_check_catches_a_fetch() {
    // The checks above can fail: a page that fetches an image is caught by both.
    let tmp = tempfile::tempdir().expect("tempdir");
    let page = tmp.path().join("bad.html");
    std::fs::write(
        &page,
        r#"<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'"></head><body><img src="http://127.0.0.1:9/x.png"></body></html>"#,
    )
    .expect("write");
    let netlog = tmp.path().join("n.json");
    let run = run_chromium(
        &tmp.path().join("p"),
        &[
            format!("--log-net-log={}", netlog.display()),
            "--dump-dom".into(),
        ],
        &format!("file://{}", page.display()),
    );
    assert!(
        !console_lines(&run.stderr).is_empty(),
        "CSP violation not logged"
    );
    let page2 = tmp.path().join("bad2.html");
    std::fs::write(
        &page2,
        r#"<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/y.png"></body></html>"#,
    )
    .expect("write");
    let netlog2 = tmp.path().join("n2.json");
    run_chromium(
        &tmp.path().join("p2"),
        &[
            format!("--log-net-log={}", netlog2.display()),
            "--dump-dom".into(),
        ],
        &format!("file://{}", page2.display()),
    );
    let reqs = page_requests(&netlog2);
    assert!(
        reqs.iter().any(|u| u.contains("127.0.0.1:9")),
        "request not seen: {reqs:?}"
    );
}
