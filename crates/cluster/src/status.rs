//! `bramble status`: one table row per host: up or down, load, memory,
//! disk, CPU temperature, throttling (Raspberry Pi firmware), bramble.

use crate::facts::Facts;
use crate::{table, Cluster};

/// What each host reports.
const PROBE: &str = r#"read l1 l5 l15 rest < /proc/loadavg; echo load=$l1 $l5 $l15
echo cpus=$(nproc 2>/dev/null)
awk '/^MemTotal/{t=$2} /^MemAvailable/{a=$2} END{printf "mem=%d/%d MiB\n", (t-a)/1024, t/1024}' /proc/meminfo
df -P / | awk 'NR==2{printf "disk=%s of %d GiB\n", $5, $2/1048576}'
t=$(cat /sys/class/thermal/thermal_zone*/temp 2>/dev/null | sort -n | tail -1)
[ -n "$t" ] && echo temp=$((t/1000)) C
command -v vcgencmd >/dev/null 2>&1 && echo throttled=$(vcgencmd get_throttled | cut -d= -f2)
echo version=$(PATH=$PATH:/usr/local/bin bramble --version 2>/dev/null)
"#;

/// Prints the table; `Ok(false)` when a host is down.
pub fn run(cluster: &Cluster) -> Result<bool, String> {
    let results =
        bramble_remote::ssh::parallel(&cluster.names(), |host| cluster.ssh.run(host, PROBE, None));
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|output| match output.failure() {
            Some(failure) => vec![
                output.host.clone(),
                "DOWN".into(),
                failure.explain(&output.host),
            ],
            None => {
                let facts = Facts::parse(&output.stdout);
                let or_dash = |key: &str| match facts.get(key) {
                    "" => "-".to_string(),
                    value => value.to_string(),
                };
                vec![
                    output.host.clone(),
                    "up".into(),
                    format!("{} ({} cpus)", or_dash("load"), or_dash("cpus")),
                    or_dash("mem"),
                    or_dash("disk"),
                    or_dash("temp"),
                    throttling(facts.get("throttled")),
                    or_dash("version"),
                ]
            }
        })
        .collect();
    print!(
        "{}",
        table::render(
            &[
                "HOST",
                "UP",
                "LOAD",
                "MEMORY",
                "DISK",
                "TEMP",
                "THROTTLED",
                "BRAMBLE"
            ],
            &rows
        )
    );
    let down = results.iter().filter(|o| !o.success()).count();
    if down > 0 {
        println!("{down} of {} hosts down", results.len());
    }
    Ok(down == 0)
}

/// Decodes `vcgencmd get_throttled`'s bit mask into words.
fn throttling(mask: &str) -> String {
    let Some(bits) = mask
        .strip_prefix("0x")
        .and_then(|hex| u32::from_str_radix(hex, 16).ok())
    else {
        return "-".into();
    };
    const MEANINGS: [(u32, &str); 6] = [
        (0, "under-voltage now"),
        (1, "frequency capped now"),
        (2, "throttled now"),
        (16, "under-voltage since boot"),
        (17, "capped since boot"),
        (18, "throttled since boot"),
    ];
    let words: Vec<&str> = MEANINGS
        .iter()
        .filter(|(bit, _)| bits & (1 << bit) != 0)
        .map(|(_, word)| *word)
        .collect();
    if words.is_empty() {
        "no".into()
    } else {
        words.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::throttling;

    #[test]
    fn decodes_the_firmware_mask() {
        assert_eq!(throttling("0x0"), "no");
        assert_eq!(
            throttling("0x50005"),
            "under-voltage now, throttled now, under-voltage since boot, throttled since boot"
        );
        assert_eq!(throttling(""), "-");
    }
}
