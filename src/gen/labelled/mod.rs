//! Labelled scenarios (`noisegate gen --scenario NAME`): alert traffic from a 50-service
//! system plus its ground truth, the measuring stick for the engine.
//!
//! * `topo.rs`: the services, teams and who calls whom (also `config/topology.toml`).
//! * `world.rs`: the seeded clusters, nodes, pods, PagerDuty services and people.
//! * `rules.rs`: the alert rules beyond the example generator's.
//! * `plan.rs`: what happens: alert episodes, each in exactly one incident.
//! * `emit.rs`: the wire payloads in send order (streamed) and the ground truth.
//!
//! Nothing in the payloads carries the truth: incident ids exist only in the truth file, and
//! acknowledgements name an alert (its fingerprint, or a tool's dedup key), never an incident.
//! Everything follows from the seed; the window starts at [`super::EPOCH`].

mod emit;
mod plan;
mod rules;
mod topo;
mod world;

#[cfg(test)]
mod tests;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{Scenario, ScenarioOptions, ScenarioStats};
use crate::gen::scenario::HOUR;

/// The scenario's length when `--hours` is not given.
pub(crate) fn default_hours(s: Scenario) -> u32 {
    match s {
        Scenario::Steady | Scenario::Mixed => 168,
        Scenario::Storm => 6,
        Scenario::Flapping | Scenario::Transient => 24,
    }
}

pub(crate) fn write(
    o: &ScenarioOptions,
    out: &mut dyn std::io::Write,
    truth: &mut dyn std::io::Write,
) -> std::io::Result<ScenarioStats> {
    let hours = o.hours.unwrap_or_else(|| default_hours(o.scenario));
    let t0 = super::epoch_ms();
    let end = t0 + hours as i64 * HOUR;
    let mut rng = ChaCha8Rng::seed_from_u64(o.seed ^ 0x6e6f_6973_6567_6174);
    let w = world::World::new(&mut rng);
    let plan = plan::build(&w, &mut rng, o.scenario, t0, end);
    let mut em = emit::Emitter::new(&w, &plan, o.seed, &mut rng, t0, end);
    em.schedule();
    let mut wr = em.write(out)?;
    em.truth(truth, &mut wr)?;
    Ok(ScenarioStats {
        lines: wr.lines,
        alert_events: wr.alert_events,
        incidents: wr.incidents,
        actionable_incidents: wr.actionable,
        acked_incidents: wr.acked,
        alert_episodes: wr.alert_lines,
        bytes: wr.bytes,
    })
}
