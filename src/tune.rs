//! `noisegate tune` (being written).
use std::path::PathBuf;

use crate::config::Config;

pub struct TuneReport {}

impl TuneReport {
    pub fn render(&self) -> String {
        String::new()
    }
}

pub fn run(_history: &[PathBuf], _cfg: &Config) -> anyhow::Result<TuneReport> {
    anyhow::bail!("tune is not written yet")
}
