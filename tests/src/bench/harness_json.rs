//! Parser for `vmm-harness boot --trace-json FILE`:
//! `{"events":[{"t_us":..,"event":"..","code":..,"name":..},...],"exit_code":..}`,
//! times in microseconds since the harness's `main()` (`spawn` is negative).

use serde_json::Value;

/// One timeline event.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub t_us: f64,
    /// The harness's event name: `spawn`, `process start`, `vm created`,
    /// `memory ready`, `kernel loaded`, `first KVM_RUN`, `port 0x80`,
    /// `boot timer`, `first serial byte`, `exit`.
    pub event: String,
    /// Port-0x80 byte, or the exit status for `exit`.
    pub code: Option<i64>,
    /// Why the VM stopped, for `exit` (`exit port`, `vCPU failure`, `timeout`, ...).
    pub reason: Option<String>,
}

impl Event {
    /// A key that tells port-0x80 codes apart: `port 0x80 = 0x40`.
    pub fn key(&self) -> String {
        match (self.event.as_str(), self.code) {
            ("port 0x80", Some(c)) => trace_key(c as u8),
            _ => self.event.clone(),
        }
    }
}

/// The key of a boot-trace code, as [`Event::key`] makes it.
pub fn trace_key(code: u8) -> String {
    format!("port 0x80 = {code:#04x}")
}

/// A whole trace file.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    pub events: Vec<Event>,
    pub exit_code: Option<i64>,
    /// VM exits to the VMM up to the first user instruction (the harness's
    /// `"exits"` object; absent from older harnesses).
    pub exits_to_user: Option<u64>,
}

impl Trace {
    /// The `exit` event's status and reason, if the harness recorded one.
    pub fn exit(&self) -> Option<(Option<i64>, Option<&str>, f64)> {
        self.events.iter().find(|e| e.event == "exit").map(|e| (e.code, e.reason.as_deref(), e.t_us))
    }

    /// Time of the first event with this key.
    pub fn first(&self, key: &str) -> Option<f64> {
        self.events.iter().find(|e| e.key() == key).map(|e| e.t_us)
    }

    /// Times relative to `spawn` (or to `process start` when spawn was not recorded),
    /// one entry per key: the first occurrence.
    pub fn since_spawn(&self) -> Vec<(String, f64)> {
        let origin = self.first("spawn").unwrap_or(0.0);
        let mut out: Vec<(String, f64)> = Vec::new();
        for e in &self.events {
            let k = e.key();
            if !out.iter().any(|(seen, _)| *seen == k) {
                out.push((k, e.t_us - origin));
            }
        }
        out
    }
}

/// Parses the JSON text; the error says what was wrong.
pub fn parse(text: &str) -> Result<Trace, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("trace JSON: {e}"))?;
    let events = v.get("events").and_then(Value::as_array).ok_or("trace JSON: no \"events\" array")?;
    let mut out = Vec::with_capacity(events.len());
    for (i, e) in events.iter().enumerate() {
        let t_us = e
            .get("t_us")
            .and_then(Value::as_f64)
            .ok_or_else(|| format!("trace JSON: event {i} has no numeric t_us"))?;
        let event = e
            .get("event")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("trace JSON: event {i} has no event name"))?
            .to_string();
        let code = e.get("code").and_then(Value::as_i64);
        let reason = e.get("reason").and_then(Value::as_str).map(str::to_string);
        out.push(Event { t_us, event, code, reason });
    }
    let exits_to_user = v.pointer("/exits/to first user instruction/total").and_then(Value::as_u64);
    Ok(Trace { events: out, exit_code: v.get("exit_code").and_then(Value::as_i64), exits_to_user })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{"events":[{"t_us":-7228.3,"event":"spawn"},{"t_us":0.0,"event":"process start"},{"t_us":265.8,"event":"vm created"},{"t_us":414.2,"event":"memory ready"},{"t_us":470.7,"event":"kernel loaded"},{"t_us":1057.0,"event":"first KVM_RUN"},{"t_us":1180.0,"event":"port 0x80","code":64,"name":"kernel entry"},{"t_us":1408.2,"event":"first serial byte"},{"t_us":10649.3,"event":"port 0x80","code":66,"name":"kernel init done"},{"t_us":10658.1,"event":"port 0x80","code":65,"name":"first user instruction"},{"t_us":10700.0,"event":"port 0x80","code":65},{"t_us":11399.3,"event":"exit","code":0,"reason":"exit port"}],"exit_code":0}
"#;

    #[test]
    fn parses_a_real_trace() {
        let t = parse(SAMPLE).unwrap();
        assert_eq!(t.events.len(), 12);
        assert_eq!(t.exit_code, Some(0));
        assert_eq!(t.events[6].key(), "port 0x80 = 0x40");
        assert_eq!(t.first(&trace_key(0x42)), Some(10649.3));
        assert_eq!(t.first("exit"), Some(11399.3));
        assert_eq!(t.first(&trace_key(0x43)), None);
    }

    #[test]
    fn times_since_spawn_keep_first_occurrence() {
        let s = parse(SAMPLE).unwrap().since_spawn();
        assert_eq!(s[0], ("spawn".to_string(), 0.0));
        assert_eq!(s[1].0, "process start");
        assert!((s[1].1 - 7228.3).abs() < 1e-6);
        let ue: Vec<_> = s.iter().filter(|(k, _)| k == "port 0x80 = 0x41").collect();
        assert_eq!(ue.len(), 1);
        assert!((ue[0].1 - (10658.1 + 7228.3)).abs() < 1e-6);
    }

    #[test]
    fn a_failed_boot_with_the_initrd() {
        // kvm-pvm, `--initrd`: the vCPU stops on an emulation failure after 0x42.
        let t = parse(r#"{"events":[{"t_us":0.0,"event":"process start"},{"t_us":248.6,"event":"vm created"},{"t_us":410.3,"event":"memory ready"},{"t_us":657.7,"event":"kernel loaded"},{"t_us":1212.3,"event":"first KVM_RUN"},{"t_us":1320.3,"event":"port 0x80","code":64,"name":"kernel entry"},{"t_us":2669.5,"event":"first serial byte"},{"t_us":78538.6,"event":"port 0x80","code":66,"name":"kernel init done"},{"t_us":102921.7,"event":"exit","code":125,"reason":"vCPU failure"}],"exit_code":125}"#).unwrap();
        assert_eq!(t.exit_code, Some(125));
        assert_eq!(t.exit(), Some((Some(125), Some("vCPU failure"), 102921.7)));
        assert!(t.first(&trace_key(0x42)).is_some());
        assert!(t.first(&trace_key(0x41)).is_none());
        assert_eq!(parse(SAMPLE).unwrap().exit().unwrap().1, Some("exit port"));
    }

    #[test]
    fn without_spawn_times_are_from_process_start() {
        let t = parse(
            r#"{"events":[{"t_us":0.0,"event":"process start"},{"t_us":5.5,"event":"vm created"}],"exit_code":125}"#,
        )
        .unwrap();
        assert_eq!(t.since_spawn()[1], ("vm created".to_string(), 5.5));
        assert_eq!(t.exit_code, Some(125));
    }

    #[test]
    fn reports_malformed_input() {
        assert!(parse("").is_err());
        assert!(parse("{}").unwrap_err().contains("events"));
        assert!(parse(r#"{"events":[{"event":"x"}]}"#).unwrap_err().contains("t_us"));
        assert!(parse(r#"{"events":[{"t_us":1}]}"#).unwrap_err().contains("name"));
    }
}
