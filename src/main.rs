//! The `noisegate` command line: the imperative shell. Parses arguments, loads config, and
//! hands off to `replay`, `gen` or the config checker. Errors gain context here (anyhow).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use noisegate::config::Config;

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
    /// Validate a config file; prints what is wrong (naming the key) and exits non-zero.
    CheckConfig { file: PathBuf },
    /// Generate realistic example alert traffic as NDJSON (mixed formats) on stdout or to a file.
    Gen {
        /// Seed for the deterministic generator.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Hours of traffic to generate.
        #[arg(long, default_value_t = 24)]
        hours: u32,
        /// Output file (stdout if omitted).
        #[arg(long)]
        out: Option<PathBuf>,
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
        Cmd::Gen { seed, hours, out } => {
            let text = noisegate::gen::generate(&noisegate::gen::GenOptions { seed, hours });
            match out {
                Some(p) => {
                    std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))?
                }
                None => {
                    use std::io::Write;
                    std::io::stdout().write_all(text.as_bytes())?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
