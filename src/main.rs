//! The `noisegate` command line: the imperative shell. Parses arguments, loads config, and
//! hands off to `replay`, `gen` or the config checker. Errors gain context here (anyhow).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use noisegate::config::Config;

// The decoders allocate and free many short-lived strings per payload: with glibc's malloc
// that was about a seventh of replay's CPU (perf, 2026-12-06). jemalloc (TiKV's maintained
// binding) made replay ~1.35x faster and took less memory per active alert (863 vs 950
// bytes); mimalloc was a little slower and took 1066. Figures in BENCHMARKS.md.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "noisegate",
    version,
    about = "Alert-hygiene stream processor: dedup, correlate, score and route alerts upstream of PagerDuty"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Replay NDJSON alert traffic (any supported JSON format, auto-detected) through the
    /// engine in event time and write clusters, pages, dead letters and a summary.
    Replay {
        /// Config file (defaults apply when omitted).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Output directory.
        #[arg(long, default_value = "noisegate-out")]
        out: PathBuf,
        /// Do not show a progress spinner even on a terminal.
        #[arg(long)]
        quiet: bool,
        /// NDJSON files, one payload per line; `.gz` is decompressed; `-` reads stdin.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
    },
    /// Run as a service: consume alert traffic from Kafka (`[kafka]` in the config), write
    /// pages, tickets, cluster records and dead letters back to Kafka, checkpoint state.
    /// Stops cleanly on SIGTERM/SIGINT. Logs go to stderr (`RUST_LOG` sets the level).
    Run {
        /// Config file with a `[kafka]` section.
        #[arg(long)]
        config: PathBuf,
        /// Set an unreadable checkpoint aside and start with empty state.
        #[arg(long)]
        reset_state: bool,
        /// Backfill: once input has been idle this long (e.g. "10s") and is read to its end,
        /// end the input as replay does (records for every open cluster), checkpoint and exit
        /// 0. If the broker cannot say it was read to its end for as long again, checkpoint
        /// without ending the input and exit non-zero.
        #[arg(long, value_parser = humantime::parse_duration)]
        exit_when_idle: Option<std::time::Duration>,
        /// Write a JSON run summary here on exit.
        #[arg(long)]
        summary: Option<PathBuf>,
    },
    /// Validate a config file; prints what is wrong (naming the key) and exits non-zero.
    CheckConfig { file: PathBuf },
    /// Generate realistic alert traffic as NDJSON (mixed formats) on stdout or to a file.
    /// Without --scenario: the small example company of `examples/`. With --scenario: a
    /// labelled stream from a 50-service system plus its ground truth (--truth-out).
    Gen {
        /// Seed for the deterministic generator.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Hours of traffic to generate (scenarios have their own default length).
        #[arg(long)]
        hours: Option<u32>,
        /// Scenario: steady, storm, flapping, transient, mixed.
        #[arg(long)]
        scenario: Option<String>,
        /// Where to write the ground truth (scenarios only).
        #[arg(long)]
        truth_out: Option<PathBuf>,
        /// Output file (stdout if omitted).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Score cluster records against ground truth, beside an Alertmanager-style baseline
    /// computed on the same input stream.
    Eval {
        /// Ground truth written by `gen --truth-out`.
        #[arg(long)]
        truth: PathBuf,
        /// clusters.ndjson written by `replay`.
        #[arg(long)]
        clusters: PathBuf,
        /// The replayed input stream(s), for the Alertmanager-style baseline.
        #[arg(long = "input")]
        inputs: Vec<PathBuf>,
        /// Config used for decoding the input (defaults apply when omitted).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Write the report as JSON here too.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The weekly on-call health report from cluster records: load per shift, sleep cost,
    /// actionable rate, MTTA/MTTR, noise leaders with what to change. Rotations come from
    /// `[oncall]` in the config. Default period: the last complete ISO week (in `[oncall]
    /// timezone`).
    Report {
        /// clusters.ndjson files, directories written by `replay --out`, or `kafka:TOPIC`
        /// (read from the beginning to the current end; `[kafka]` brokers and encoding).
        #[arg(long = "clusters", required = true, num_args = 1..)]
        clusters: Vec<String>,
        /// Config file with `[oncall]` rotations (defaults apply when omitted).
        #[arg(long)]
        config: Option<PathBuf>,
        /// ISO week, e.g. 2026-W47.
        #[arg(long, conflicts_with_all = ["from", "to"])]
        week: Option<String>,
        /// First day of the period (YYYY-MM-DD, local to `[oncall] timezone`).
        #[arg(long, requires = "to")]
        from: Option<chrono::NaiveDate>,
        /// Last day of the period, inclusive.
        #[arg(long, requires = "from")]
        to: Option<chrono::NaiveDate>,
        /// Only this team.
        #[arg(long)]
        team: Option<String>,
        /// html, md or json.
        #[arg(long, default_value = "html")]
        format: noisegate::report::Format,
        /// Output file (stdout if omitted).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Fit the score weights (logistic regression) on past cluster records with outcomes and
    /// print the fitted `[score]` config with its precision and recall.
    Tune {
        /// clusters.ndjson files with outcomes (acked by a human = actionable).
        #[arg(long = "history", required = true, num_args = 1..)]
        history: Vec<PathBuf>,
        /// Config whose thresholds to use (defaults apply when omitted).
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

fn load_config(path: Option<&PathBuf>) -> anyhow::Result<Config> {
    match path {
        Some(p) => Ok(Config::load(p)?),
        None => Ok(Config::default()),
    }
}

fn main() -> ExitCode {
    match real_main() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("noisegate: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn real_main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Replay {
            config,
            out,
            quiet,
            inputs,
        } => {
            let cfg = load_config(config.as_ref())?;
            let s = noisegate::replay::run(&cfg, &inputs, &out, !quiet).context("replay failed")?;
            print!("{}", noisegate::replay::print_summary(&s, &out));
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Run {
            config,
            reset_state,
            exit_when_idle,
            summary,
        } => {
            tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
                )
                .with_writer(std::io::stderr)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .init();
            let cfg = Config::load(&config)?;
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the tokio runtime")?;
            let opts = noisegate::service::RunOptions {
                reset_state,
                exit_when_idle,
                summary_out: summary,
            };
            rt.block_on(noisegate::service::run(cfg, opts))?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::CheckConfig { file } => match Config::load(&file) {
            Ok(_) => {
                println!("{}: ok", file.display());
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("{e}");
                Ok(ExitCode::from(1))
            }
        },
        Cmd::Gen {
            seed,
            hours,
            scenario,
            truth_out,
            out,
        } => {
            use std::io::Write;
            let mut sink: Box<dyn Write> = match &out {
                Some(p) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(p)
                        .with_context(|| format!("creating {}", p.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            match scenario {
                None => {
                    let text = noisegate::gen::generate(&noisegate::gen::GenOptions {
                        seed,
                        hours: hours.unwrap_or(24),
                    });
                    sink.write_all(text.as_bytes())?;
                }
                Some(name) => {
                    let scenario: noisegate::gen::Scenario =
                        name.parse().map_err(anyhow::Error::msg)?;
                    let truth_path =
                        truth_out.context("--truth-out FILE is required with --scenario")?;
                    let mut truth = std::io::BufWriter::new(
                        std::fs::File::create(&truth_path)
                            .with_context(|| format!("creating {}", truth_path.display()))?,
                    );
                    let stats = noisegate::gen::write_scenario(
                        &noisegate::gen::ScenarioOptions {
                            scenario,
                            seed,
                            hours,
                        },
                        &mut sink,
                        &mut truth,
                    )
                    .context("generating scenario")?;
                    truth.flush()?;
                    eprintln!("{stats}");
                }
            }
            sink.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Eval {
            truth,
            clusters,
            inputs,
            config,
            out,
        } => {
            let cfg = load_config(config.as_ref())?;
            let report = noisegate::eval::run(&truth, &clusters, &inputs, &cfg)?;
            print!("{}", report.table());
            if let Some(p) = out {
                std::fs::write(&p, serde_json::to_string_pretty(&report)? + "\n")
                    .with_context(|| format!("writing {}", p.display()))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Report {
            clusters,
            config,
            week,
            from,
            to,
            team,
            format,
            out,
        } => {
            let cfg = load_config(config.as_ref())?;
            report_cmd(&cfg, &clusters, week, from.zip(to), team, format, out)?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Tune { history, config } => {
            let cfg = load_config(config.as_ref())?;
            let report = noisegate::tune::run(&history, &cfg)?;
            print!("{}", report.render());
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `noisegate report`: pick the period (the only clock read), read, compute, render, write.
fn report_cmd(
    cfg: &Config,
    clusters: &[String],
    week: Option<String>,
    dates: Option<(chrono::NaiveDate, chrono::NaiveDate)>,
    team: Option<String>,
    format: noisegate::report::Format,
    out: Option<PathBuf>,
) -> anyhow::Result<()> {
    use noisegate::report::{self, input, Period};
    let tz = cfg.oncall.default.tz;
    let period = match (week, dates) {
        (Some(w), _) => Period::parse_iso_week(&w, tz)
            .with_context(|| format!("--week {w:?} is not an ISO week like 2026-W47"))?,
        (None, Some((from, to))) => {
            anyhow::ensure!(to >= from, "--to {to} is before --from {from}");
            Period {
                start: from,
                end: to + chrono::Duration::days(1),
                tz,
            }
        }
        (None, None) => {
            // The CLI edge is the one place the report reads the clock: "last week" by default.
            let now = noisegate::event::EventTime(chrono::Utc::now().timestamp_millis());
            Period::last_complete_week(now, tz)
        }
    };
    let sources: Vec<input::Source> = clusters.iter().map(|s| input::Source::parse(s)).collect();
    let read = input::read(&sources, &cfg.kafka).context("reading cluster records")?;
    if read.skipped > 0 {
        eprintln!(
            "noisegate: warning: skipped {} input lines that are not cluster records, e.g.:",
            read.skipped
        );
        for r in &read.skip_reasons {
            eprintln!("  {r}");
        }
    }
    let opts = report::ReportOptions {
        period,
        team,
        decode: cfg.decode.clone(),
    };
    let mut rep = report::compute(&read.records, &cfg.oncall, &opts);
    rep.records_skipped = read.skipped;
    let text = report::render(&rep, format);
    match out {
        Some(p) => std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))?,
        None => {
            use std::io::Write;
            std::io::stdout().lock().write_all(text.as_bytes())?;
        }
    }
    Ok(())
}
