//! `noisegate eval` (being written).
use std::path::{Path, PathBuf};

use crate::config::Config;

#[derive(Debug, Clone, serde::Serialize)]
pub struct EvalReport {}

impl EvalReport {
    pub fn table(&self) -> String {
        String::new()
    }
}

pub fn run(
    _truth: &Path,
    _clusters: &Path,
    _inputs: &[PathBuf],
    _cfg: &Config,
) -> anyhow::Result<EvalReport> {
    anyhow::bail!("eval is not written yet")
}
