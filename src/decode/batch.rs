//! One message that holds several payloads: a JSON array of webhook bodies or events.
//!
//! Forwarders batch. Vector's `http` sink with the JSON codec posts its batch as one array
//! (`[{webhook}, {webhook}]`), and so do scripts that relay a queue with `json.dumps(list)`;
//! such a body reaching `/api/v1/alertmanager`, or a Kafka message written the same way,
//! would otherwise be refused whole because an Alertmanager webhook is an object. Replay
//! already reads an array of payloads as its elements (`replay::framing`); this is the same
//! rule for one message, so the two modes agree.
//!
//! Prometheus' own alert list (`POST /api/v2/alerts`) is also an array, of alerts rather
//! than payloads: with no format given, the first element decides (an object that sniffs as
//! a payload format other than Prometheus makes the message a batch); with a format given,
//! every format but Prometheus (and OTLP protobuf, which is not JSON) takes an array as a
//! batch. Owns that decision and the element spans; decodes nothing, so each element is
//! decoded, and refused, on its own by the caller.

use serde_json::value::RawValue;

use super::{sniff, Format};

/// The payloads of `bytes` when it is a JSON array of payloads; `None` when it is one
/// payload (or not valid JSON, whose precise error the single-payload decode gives).
pub fn payloads(format: Option<Format>, bytes: &[u8]) -> Option<Vec<&[u8]>> {
    if matches!(format, Some(Format::Prometheus | Format::OtlpProto))
        || bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'[')
    {
        return None;
    }
    let elems: Vec<&RawValue> = serde_json::from_slice(bytes).ok()?;
    let first = elems.first()?;
    if format.is_none()
        && !matches!(sniff(first.get().as_bytes()), Ok(f) if f != Format::Prometheus)
    {
        return None;
    }
    Some(elems.into_iter().map(|e| e.get().as_bytes()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const AM: &str = r#"{"version":"4","status":"firing","receiver":"r","groupKey":"g","alerts":[{"status":"firing","labels":{"alertname":"A"},"annotations":{},"startsAt":"2024-01-01T00:00:00Z","endsAt":"0001-01-01T00:00:00Z"}]}"#;
    const PD: &str = r#"{"routing_key":"k","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"error"}}"#;
    const PROM: &str = r#"{"labels":{"alertname":"A"},"annotations":{},"startsAt":"2024-01-01T00:00:00Z","endsAt":"2024-01-01T00:05:00Z"}"#;

    #[test]
    fn an_array_of_payloads_is_its_elements_in_order() {
        let body = format!("[{AM},\n {PD} , {AM}]");
        let got = payloads(None, body.as_bytes()).expect("a batch");
        assert_eq!(got, vec![AM.as_bytes(), PD.as_bytes(), AM.as_bytes()]);
        // A route that names the format splits the same way.
        let got = payloads(Some(Format::Alertmanager), body.as_bytes()).expect("a batch");
        assert_eq!(got.len(), 3);
    }

    #[test]
    fn prometheus_alert_lists_and_single_payloads_are_not_batches() {
        let list = format!("[{PROM},{PROM}]");
        assert_eq!(payloads(None, list.as_bytes()), None);
        assert_eq!(payloads(Some(Format::Prometheus), list.as_bytes()), None);
        let body = format!("[{AM}]");
        assert_eq!(payloads(Some(Format::Prometheus), body.as_bytes()), None);
        assert_eq!(payloads(None, AM.as_bytes()), None);
        assert_eq!(payloads(Some(Format::Alertmanager), AM.as_bytes()), None);
        assert_eq!(payloads(None, b"[]"), None);
    }

    #[test]
    fn broken_arrays_are_left_to_the_decoder_to_refuse() {
        // Not valid JSON as a whole: one payload, refused with the parser's reason.
        let body = format!("[{AM}, {{\"alerts\": ]");
        assert_eq!(payloads(None, body.as_bytes()), None);
        assert_eq!(payloads(Some(Format::Alertmanager), body.as_bytes()), None);
        // Valid JSON whose first element is no payload: Prometheus' decoder says why.
        assert_eq!(payloads(None, b"[1, 2]"), None);
        // With the format given, bad elements are the caller's to refuse one by one.
        let body = format!("[{AM}, 1]");
        assert_eq!(
            payloads(Some(Format::Alertmanager), body.as_bytes()),
            Some(vec![AM.as_bytes(), b"1".as_slice()])
        );
        let body = format!("[{AM}, 1]");
        assert_eq!(
            payloads(None, body.as_bytes()),
            Some(vec![AM.as_bytes(), b"1".as_slice()])
        );
    }
}
