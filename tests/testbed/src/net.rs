//! The wiring: network namespaces, the bridge, veth pairs, addresses and
//! traffic shaping, all through iproute2.

use std::process::Command;

use crate::error::{err, Result};

/// Runs a setup command, turning failure into an error that shows it.
pub(crate) fn run(program: &str, args: &[&str]) -> Result<String> {
    let output = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| err(format!("cannot run `{program}` ({e}); is it installed?")))?;
    if !output.status.success() {
        return Err(err(format!(
            "`{program} {}` failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Creates the bridge's namespace with an up bridge `br0` in it.
pub(crate) fn add_bridge(bridge_ns: &str) -> Result<()> {
    run("ip", &["netns", "add", bridge_ns])?;
    run("ip", &["-n", bridge_ns, "link", "set", "lo", "up"])?;
    run(
        "ip",
        &["-n", bridge_ns, "link", "add", "br0", "type", "bridge"],
    )?;
    run("ip", &["-n", bridge_ns, "link", "set", "br0", "up"])?;
    Ok(())
}

/// Creates a host's namespace, its `eth0` plugged into the bridge as port
/// `port`, with `address/24`.
pub(crate) fn add_host(bridge_ns: &str, host_ns: &str, port: &str, address: &str) -> Result<()> {
    run("ip", &["netns", "add", host_ns])?;
    run(
        "ip",
        &[
            "-n", bridge_ns, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns",
            host_ns,
        ],
    )?;
    run(
        "ip",
        &["-n", bridge_ns, "link", "set", port, "master", "br0"],
    )?;
    run("ip", &["-n", bridge_ns, "link", "set", port, "up"])?;
    let cidr = format!("{address}/24");
    run("ip", &["-n", host_ns, "addr", "add", &cidr, "dev", "eth0"])?;
    run("ip", &["-n", host_ns, "link", "set", "eth0", "up"])?;
    run("ip", &["-n", host_ns, "link", "set", "lo", "up"])?;
    Ok(())
}

/// Sets the bridge port of a host up or down (down = cable pulled).
pub(crate) fn set_port(bridge_ns: &str, port: &str, up: bool) -> Result<()> {
    let state = if up { "up" } else { "down" };
    run("ip", &["-n", bridge_ns, "link", "set", port, state]).map(drop)
}

/// Limits `device` in `ns` to `rate` with a token bucket filter.
pub(crate) fn shape(ns: &str, device: &str, rate: &str) -> Result<()> {
    let burst = format!("{}b", burst_bytes(rate)?);
    run(
        "ip",
        &[
            "netns", "exec", ns, "tc", "qdisc", "add", "dev", device, "root", "tbf", "rate", rate,
            "burst", &burst, "latency", "50ms",
        ],
    )
    .map(drop)
}

/// The bucket size for `rate`: 10 ms worth of traffic, so the kernel's timer
/// granularity cannot hold the link below its rate, and at least 16 KiB so
/// one jumbo burst fits.
fn burst_bytes(rate: &str) -> Result<u64> {
    let lower = rate.to_ascii_lowercase();
    let digits_end = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(digits_end);
    let number: u64 = number.parse().map_err(|_| {
        err(format!(
            "link rate {rate:?} must start with a number, like \"1gbit\""
        ))
    })?;
    let bits_per_unit: u64 = match unit {
        "bit" => 1,
        "kbit" => 1_000,
        "mbit" => 1_000_000,
        "gbit" => 1_000_000_000,
        _ => {
            return Err(err(format!(
                "link rate {rate:?}: unit must be bit, kbit, mbit or gbit"
            )))
        }
    };
    let bytes_per_second = number.saturating_mul(bits_per_unit) / 8;
    Ok((bytes_per_second / 100).max(16 * 1024))
}

/// Kills every process in namespace `ns`, then deletes it. Best effort: this
/// runs in `Drop`, where there is nobody left to report to but stderr.
pub(crate) fn destroy(ns: &str) {
    for _ in 0..50 {
        let pids = match run("ip", &["netns", "pids", ns]) {
            Ok(text) => text,
            Err(_) => break,
        };
        let pids: Vec<i32> = pids
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect();
        if pids.is_empty() {
            break;
        }
        for pid in pids {
            // SAFETY: kill(2) with a pid and a signal number has no memory effects.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    if let Err(e) = run("ip", &["netns", "del", ns]) {
        eprintln!("{e}");
    }
}

#[cfg(test)]
mod tests {
    use super::burst_bytes;

    #[test]
    fn burst_is_ten_milliseconds_of_traffic() {
        assert_eq!(burst_bytes("1gbit").unwrap(), 1_250_000);
        assert_eq!(burst_bytes("800Mbit").unwrap(), 1_000_000);
        assert_eq!(burst_bytes("1mbit").unwrap(), 16 * 1024);
    }

    #[test]
    fn bad_rates_are_errors() {
        for bad in ["", "gbit", "1", "1gb", "x1gbit", "1.5gbit"] {
            assert!(burst_bytes(bad).is_err(), "{bad:?}");
        }
    }
}
