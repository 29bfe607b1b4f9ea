//! Output: the table on stdout, `boot.json` and `boot-timeline.svg`.
//!
//! Files: `table.rs` prints the table on stdout; `targets.rs` compares with
//! `../shared/docs/targets.md` (for the table and `boot.json`); `json.rs`
//! writes `boot.json`; `timeline.rs` draws `boot-timeline.svg` with
//! [`super::svg`]; this file has the number and date formatting they share
//! and [`write_all`].

#[cfg(test)]
mod fixture;
mod json;
mod table;
mod targets;
mod timeline;

pub use json::to_json;
pub use table::{table, time_order};
pub use targets::{
    targets, Target, TARGET_FIRST_KVM_RUN_US, TARGET_IDLE_BYTES, TARGET_IMAGE_BYTES, TARGET_INSNS_TO_USER,
};
pub use timeline::to_svg;

use super::measure::{IcountSection, Milestone, Results};
use super::stats::Summary;
use super::Options;

/// `1234567` as `1,234,567`.
pub fn thousands(n: f64) -> String {
    let neg = n < 0.0;
    let digits = format!("{:.0}", n.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if neg {
        format!("-{out}")
    } else {
        out
    }
}

/// UTC `YYYY-MM-DD HH:MM` from Unix seconds (no time-zone database needed).
pub fn utc(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02} UTC", secs / 3600, secs % 3600 / 60)
}

fn host_line(r: &Results) -> String {
    format!(
        "host: {} ({} cpus), Linux {}, /dev/kvm: {} ({})",
        r.host.cpu_model,
        r.host.cpus,
        r.host.kernel,
        r.host.kvm.name(),
        r.host.kvm_evidence
    )
}

fn median(m: &Milestone) -> Option<f64> {
    Summary::of(&m.values).map(|s| s.median)
}

fn code_median(a: &IcountSection, key: &str) -> Option<f64> {
    a.codes.iter().find(|m| m.key == key).and_then(median)
}

/// Prints the table and writes `boot.json` and `boot-timeline.svg`.
pub fn write_all(opts: &Options, r: &Results) -> std::io::Result<()> {
    let json_path = opts.out_dir.join("boot.json");
    let svg_path = opts.out_dir.join("boot-timeline.svg");
    let mut j = serde_json::to_string_pretty(&to_json(r)).map_err(std::io::Error::other)?;
    j.push('\n');
    std::fs::write(&json_path, j)?;
    std::fs::write(&svg_path, to_svg(r))?;
    print!("{}", table(r));
    println!();
    println!("wrote {} and {}", super::rel(&json_path), super::rel(&svg_path));
    println!("vireo-bench took {:.1} s", r.elapsed_secs);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::fixture::results;
    use super::*;
    use serde_json::Value;

    #[test]
    fn number_formatting() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1000.0), "1,000");
        assert_eq!(thousands(1_234_567.4), "1,234,567");
        assert_eq!(thousands(-12_345.0), "-12,345");
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(1_709_210_096), "2024-02-29 12:34 UTC");
    }

    #[test]
    fn kernel_only_harness_is_said_so() {
        let r = results(true);
        let text = table(&r);
        assert!(text.contains("vmm-harness host timeline on /dev/kvm, kernel only (no initrd)"));
        assert!(text.contains("NOTE: user space not measurable on kvm-pvm: syscall does not reach the guest kernel"));
        assert!(text.contains("reached: 0x40 kernel entry; not reached: none"));
        assert!(text.contains("1 vCPU, kernel + build/initrd.cpio"));
        assert!(text.contains("f. Against the targets"));
        let j = to_json(&r);
        assert_eq!(j["schema"], 2);
        assert_eq!(j["harness"]["initrd"], Value::Null);
        assert_eq!(j["harness"]["initrd_probe"]["failure"], "KVM_EXIT_INTERNAL_ERROR on XGETBV");
        assert_eq!(j["icount"]["initrd"], "build/initrd.cpio");
        assert_eq!(j["memory"]["idle"]["used_bytes"], 1499 * 1024);
        assert_eq!(j["sizes"]["kernel_plus_initrd"], 662_272);
        assert_eq!(j["targets"].as_array().unwrap().len(), 5);
        assert_eq!(j["icount"]["std_main"]["values"][0], 369_273.0);
        let svg = to_svg(&r);
        assert!(svg.contains("0x43"));
        assert!(svg.contains("vmm-harness row: kernel only (no initrd)."));
    }
}
