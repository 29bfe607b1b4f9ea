//! `ip [addr|route|dns|stats]`: the network interface as the I/O server
//! has it (`/sys/net/eth0`: address, gateway, name servers, and the
//! counters the net thread keeps).
use std::process::ExitCode;

use crate::common::usage_error;
use crate::sysfile::{self, get};

pub const USAGE: &str = "usage: ip [addr|route|dns|stats]
Shows the network interface eth0: its card, MAC and link, address, default
gateway, name servers and counters (all of them, or the part asked for).";

pub fn run(args: &[String]) -> ExitCode {
    let part = match args {
        [] => Part::All,
        [p] => match p.as_str() {
            "addr" | "address" | "a" => Part::Addr,
            "route" | "r" => Part::Route,
            "dns" => Part::Dns,
            "stats" | "-s" => Part::Stats,
            other => return usage_error("ip", USAGE, &format!("unknown object '{other}'")),
        },
        _ => return usage_error("ip", USAGE, "expected at most one object"),
    };
    match sysfile::read("/sys/net/eth0", "no network interface (no virtio-net card, or ip=off)") {
        Ok(text) => {
            print!("{}", show(&text, part));
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("ip: {why}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    All,
    Addr,
    Route,
    Dns,
    Stats,
}

fn show(text: &str, part: Part) -> String {
    let f = sysfile::fields(text);
    let mut out = String::new();
    let all = part == Part::All;
    if all || part == Part::Addr {
        out += &format!(
            "{}: {} mac {} link {} state {}\n    inet {} ({})\n",
            get(&f, "name"),
            get(&f, "card"),
            get(&f, "mac"),
            get(&f, "link"),
            get(&f, "state"),
            get(&f, "address"),
            get(&f, "method")
        );
    }
    if all || part == Part::Route {
        out += &format!("    default via {}\n", get(&f, "gateway"));
    }
    if all || part == Part::Dns {
        out += &format!("    dns {}\n", get(&f, "dns"));
    }
    if all || part == Part::Stats {
        let n = |k| sysfile::number(&f, k);
        out += &format!(
            "    RX: packets {} bytes {} dropped {}\n    TX: packets {} bytes {} busy {} errors {}\n",
            n("rx_packets"),
            n("rx_bytes"),
            n("rx_dropped"),
            n("tx_packets"),
            n("tx_bytes"),
            n("tx_busy"),
            n("errors")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ETH0: &str = "name eth0\ncard virtio-net (MMIO)\nmac 52:54:00:12:34:56\nlink up\nstate ok\nmethod dhcp\n\
        address 10.0.2.15/24\ngateway 10.0.2.2\ndns 10.0.2.3\nrx_packets 5\nrx_bytes 900\nrx_dropped 1\n\
        tx_packets 4\ntx_bytes 800\ntx_busy 0\nerrors 0\n";

    #[test]
    fn every_part_and_all_of_them() {
        let all = show(ETH0, Part::All);
        assert_eq!(
            all,
            "eth0: virtio-net (MMIO) mac 52:54:00:12:34:56 link up state ok\n    inet 10.0.2.15/24 (dhcp)\n    \
             default via 10.0.2.2\n    dns 10.0.2.3\n    RX: packets 5 bytes 900 dropped 1\n    \
             TX: packets 4 bytes 800 busy 0 errors 0\n"
        );
        assert_eq!(show(ETH0, Part::Route), "    default via 10.0.2.2\n");
        assert_eq!(show(ETH0, Part::Dns), "    dns 10.0.2.3\n");
        assert!(show("", Part::Addr).contains("inet ? (?)"));
    }
}
