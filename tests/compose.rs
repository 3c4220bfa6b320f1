//! Static checks of `docker-compose.yml` (no Docker engine needed): it parses, what it
//! mounts from `./config/` exists, its `depends_on` names real services, the `noisegate`
//! service's config loads, and `kafka-init` creates every topic that config reads or writes.

use std::path::{Path, PathBuf};

use noisegate::config::Config;
use serde_norway::{Mapping, Value};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn compose() -> Value {
    let p = root().join("docker-compose.yml");
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{}: not YAML: {e}", p.display()))
}

fn services(doc: &Value) -> &Mapping {
    doc.get("services")
        .and_then(Value::as_mapping)
        .expect("docker-compose.yml has a `services` mapping")
}

fn service<'a>(doc: &'a Value, name: &str) -> &'a Value {
    services(doc)
        .get(name)
        .unwrap_or_else(|| panic!("no service {name:?}"))
}

/// A `command`/`entrypoint` as its list of arguments (a plain string is one argument).
fn args(v: Option<&Value>) -> Vec<String> {
    match v {
        None => Vec::new(),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Sequence(seq)) => seq
            .iter()
            .map(|a| match a {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => panic!("command argument {other:?} is not a string"),
            })
            .collect(),
        Some(other) => panic!("command {other:?} is neither a string nor a list"),
    }
}

/// (host source, container target) of each bind mount or named volume of a service.
fn mounts(svc: &Value) -> Vec<(String, String)> {
    let Some(vols) = svc.get("volumes").and_then(Value::as_sequence) else {
        return Vec::new();
    };
    vols.iter()
        .map(|v| match v {
            // Short syntax: SOURCE:TARGET[:MODE].
            Value::String(s) => {
                let mut parts = s.splitn(3, ':');
                let source = parts.next().unwrap().to_string();
                let target = parts
                    .next()
                    .unwrap_or_else(|| panic!("volume {s:?} has no target"))
                    .to_string();
                (source, target)
            }
            // Long syntax: {type, source, target, ...}.
            Value::Mapping(m) => {
                let field = |k: &str| {
                    m.get(k)
                        .and_then(Value::as_str)
                        .unwrap_or_else(|| panic!("volume {m:?} has no {k}"))
                        .to_string()
                };
                (field("source"), field("target"))
            }
            other => panic!("volume {other:?} is neither a string nor a mapping"),
        })
        .collect()
}

/// Service names a service depends on (list or mapping form).
fn depends_on(svc: &Value) -> Vec<String> {
    match svc.get("depends_on") {
        None => Vec::new(),
        Some(Value::Sequence(seq)) => seq
            .iter()
            .map(|d| d.as_str().expect("depends_on entry is a name").to_string())
            .collect(),
        Some(Value::Mapping(m)) => m
            .keys()
            .map(|k| k.as_str().expect("depends_on key is a name").to_string())
            .collect(),
        Some(other) => panic!("depends_on {other:?} is neither a list nor a mapping"),
    }
}

/// The image copies config/ to /etc/noisegate/; map a path in the image back to the repo.
fn image_config_path(p: &str) -> PathBuf {
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    assert!(
        dockerfile
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["COPY", "config/", "/etc/noisegate/"]),
        "the Dockerfile no longer copies config/ to /etc/noisegate/"
    );
    let rel = p
        .strip_prefix("/etc/noisegate/")
        .unwrap_or_else(|| panic!("{p:?} is not under /etc/noisegate/"));
    root().join("config").join(rel)
}

fn noisegate_config(doc: &Value) -> (PathBuf, Config) {
    let cmd = args(service(doc, "noisegate").get("command"));
    assert_eq!(cmd.first().map(String::as_str), Some("run"), "{cmd:?}");
    let at = cmd
        .iter()
        .position(|a| a == "--config")
        .unwrap_or_else(|| panic!("noisegate command {cmd:?} has no --config"));
    let file = image_config_path(cmd.get(at + 1).expect("--config has a value"));
    let cfg = Config::load(&file).unwrap_or_else(|e| panic!("{e}"));
    (file, cfg)
}

#[test]
fn config_mounts_exist() {
    let doc = compose();
    let mut seen = 0;
    for (name, svc) in services(&doc) {
        for (source, _) in mounts(svc) {
            if let Some(rel) = source.strip_prefix("./config/") {
                let p = root().join("config").join(rel);
                assert!(
                    p.exists(),
                    "service {name:?} mounts {source}, which does not exist"
                );
                seen += 1;
            }
        }
    }
    assert!(
        seen > 0,
        "no ./config/ mounts found; has the file changed shape?"
    );
}

#[test]
fn depends_on_names_services() {
    let doc = compose();
    let svcs = services(&doc);
    for (name, svc) in svcs {
        for dep in depends_on(svc) {
            assert!(
                svcs.contains_key(dep.as_str()),
                "service {name:?} depends on {dep:?}, which is not a service"
            );
        }
    }
    assert!(depends_on(service(&doc, "noisegate")).contains(&"kafka-init".to_string()));
}

#[test]
fn noisegate_service_config_loads_and_state_is_a_volume() {
    let doc = compose();
    let (file, cfg) = noisegate_config(&doc);
    assert!(
        !cfg.kafka.inputs.is_empty(),
        "{}: no [[kafka.inputs]]",
        file.display()
    );
    // Checkpoints must live on a volume, or a restart starts from scratch.
    let state = &cfg.kafka.state_dir;
    let svc = service(&doc, "noisegate");
    assert!(
        mounts(svc)
            .iter()
            .any(|(_, target)| state.starts_with(Path::new(target))),
        "kafka.state_dir {} is not on a volume of the noisegate service",
        state.display()
    );
    // Docker's grace period must cover the service's own shutdown deadline.
    let grace = svc
        .get("stop_grace_period")
        .and_then(Value::as_str)
        .expect("noisegate has a stop_grace_period");
    let grace = humantime::parse_duration(grace).unwrap();
    assert!(
        grace > cfg.kafka.shutdown_timeout,
        "stop_grace_period {grace:?} does not exceed kafka.shutdown_timeout {:?}",
        cfg.kafka.shutdown_timeout
    );
}

#[test]
fn kafka_init_creates_every_topic() {
    let doc = compose();
    let (file, cfg) = noisegate_config(&doc);
    let init = service(&doc, "kafka-init");
    let script = args(init.get("entrypoint"))
        .into_iter()
        .chain(args(init.get("command")))
        .collect::<Vec<_>>()
        .join("\n");
    // Each `kafka-topics.sh --create` line, as its whitespace-separated words.
    let creates: Vec<Vec<&str>> = script
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|w| {
            w.first().is_some_and(|c| c.ends_with("/kafka-topics.sh"))
                && w.contains(&"--create")
                && w.contains(&"--if-not-exists")
        })
        .collect();
    let created = |topic: &str| {
        creates
            .iter()
            .find(|w| w.windows(2).any(|p| p == ["--topic", topic]))
    };

    let k = &cfg.kafka;
    let outputs = [
        (&k.pages_topic, false),
        (&k.tickets_topic, true),
        (&k.clusters_topic, true),
        (&k.deadletter_topic, false),
    ];
    let topics = k.inputs.iter().map(|(t, _)| (t, false)).chain(
        outputs
            .iter()
            .filter_map(|(t, c)| t.as_ref().map(|t| (t, *c))),
    );
    let mut n = 0;
    for (topic, compacted) in topics {
        let line = created(topic).unwrap_or_else(|| {
            panic!(
                "{}: topic {topic:?} is not created by kafka-init",
                file.display()
            )
        });
        if compacted {
            assert!(
                line.windows(2)
                    .any(|p| p == ["--config", "cleanup.policy=compact"]),
                "topic {topic:?} is keyed by cluster id but not created compacted"
            );
        }
        n += 1;
    }
    assert_eq!(n, 8, "expected four input and four output topics");
}
