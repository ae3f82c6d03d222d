//! `bramble doctor`: checks every host at once and says what is wrong and
//! how to fix it. Each host (and the head itself) runs one probe script;
//! the checks compare the answers.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use bramble_remote::quote::quote;

use crate::facts::Facts;
use crate::setup::local_hostname;
use crate::{Cluster, VERSION_LINE};

/// Allowed clock difference beyond the time the probe itself took.
const MAX_SKEW_SECONDS: f64 = 1.0;

/// One host's answers.
struct Probe {
    host: String,
    facts: Facts,
    /// The head's clock before and after asking.
    sent: f64,
    received: f64,
}

/// Runs the checks, prints findings; `Ok(false)` when anything is wrong.
pub fn run(cluster: &Cluster, program: Option<&str>) -> Result<bool, String> {
    let names = cluster.names();
    let script = probe_script(&names, program);
    let mut problems: Vec<(String, String)> = Vec::new();
    let results = bramble_remote::ssh::parallel(&names, |host| {
        let sent = now();
        let output = cluster.ssh.run(host, &script, None);
        (output, sent, now())
    });
    let mut probes = Vec::new();
    for (output, sent, received) in results {
        match output.failure() {
            Some(failure) => {
                let text = failure.explain(&output.host);
                let prefix = format!("{}: ", output.host);
                let text = text.strip_prefix(&prefix).unwrap_or(&text).to_string();
                problems.push((output.host.clone(), text));
            }
            None => probes.push(Probe {
                host: output.host.clone(),
                facts: Facts::parse(&output.stdout),
                sent,
                received,
            }),
        }
    }
    let head = head_probe(&script)?;

    check_names(&head, &probes, &mut problems);
    for probe in &probes {
        check_host(probe, program, &mut problems);
    }
    check_self_resolution(&head, "the head", &mut problems);

    if problems.is_empty() {
        println!("all {} hosts look healthy", names.len());
        return Ok(true);
    }
    for (host, problem) in &problems {
        println!("{host}: {problem}");
    }
    println!("{} problem(s) found", problems.len());
    Ok(false)
}

/// The script every host runs: its name, the address we reached it at, its
/// clock, its bramble, how it resolves each name, and the program.
fn probe_script(names: &[String], program: Option<&str>) -> String {
    let mut script = String::from(
        "echo hostname=$(hostname)\n\
         set -- $SSH_CONNECTION; echo address=$3\n\
         echo time=$(date +%s.%N)\n\
         echo version=$(PATH=$PATH:/usr/local/bin bramble --version 2>/dev/null)\n\
         r() { getent ahostsv4 \"$1\" | awk '{print $1}' | sort -u | tr '\\n' ' '; }\n\
         echo self=$(r \"$(hostname)\")\n",
    );
    for name in names {
        let label = quote(&format!("resolve.{name}="));
        script.push_str(&format!("echo {label}$(r {})\n", quote(name)));
    }
    if let Some(program) = program {
        script.push_str(&format!(
            "if [ -x {p} ]; then echo program=yes; else echo program=no; fi\n",
            p = quote(program)
        ));
    }
    script
}

/// The same probe on the head, locally.
fn head_probe(script: &str) -> Result<Facts, String> {
    let output = std::process::Command::new("sh")
        .args(["-c", script])
        .output()
        .map_err(|e| format!("cannot run sh on the head: {e}"))?;
    Ok(Facts::parse(&String::from_utf8_lossy(&output.stdout)))
}

fn addresses(facts: &Facts, name: &str) -> Vec<String> {
    facts
        .get(&format!("resolve.{name}"))
        .split_whitespace()
        .map(String::from)
        .collect()
}

/// Names: resolvable everywhere to the address the host really has, one
/// address per name, one name per address, one host per hostname.
fn check_names(head: &Facts, probes: &[Probe], problems: &mut Vec<(String, String)>) {
    let truth: BTreeMap<&str, &str> = probes
        .iter()
        .map(|p| (p.host.as_str(), p.facts.get("address")))
        .collect();
    let views = std::iter::once(("the head".to_string(), head))
        .chain(probes.iter().map(|p| (p.host.clone(), &p.facts)));
    for (viewer, facts) in views {
        for (&name, &real) in &truth {
            if name.parse::<std::net::IpAddr>().is_ok() {
                continue;
            }
            let seen = addresses(facts, name);
            let fix = "fix /etc/hosts there, or run bramble setup to write it everywhere";
            let problem = match seen.as_slice() {
                [] => format!("{name} does not resolve on {viewer}; {fix}"),
                [one] if one != real => {
                    format!(
                        "on {viewer}, {name} resolves to {one} but the host is at {real}; {fix}"
                    )
                }
                [_] => continue,
                many => format!(
                    "on {viewer}, {name} resolves to several addresses ({}); keep one, {fix}",
                    many.join(", ")
                ),
            };
            problems.push((name.to_string(), problem));
        }
    }
    let mut by_address: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (&name, &address) in &truth {
        by_address.entry(address).or_default().push(name);
    }
    for (address, names) in by_address.into_iter().filter(|(_, n)| n.len() > 1) {
        problems.push((
            names.join(", "),
            format!(
                "{} are the same host ({address}); list it once in the hostfile",
                names.join(" and ")
            ),
        ));
    }
    let mut by_hostname: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for probe in probes {
        by_hostname
            .entry(probe.facts.get("hostname"))
            .or_default()
            .push(&probe.host);
    }
    for (hostname, hosts) in by_hostname.into_iter().filter(|(_, h)| h.len() > 1) {
        problems.push((
            hosts.join(", "),
            format!(
                "{} all call themselves {hostname:?} (cloned SD cards?); rename them: bramble setup --rename 'pinode{{:02}}'",
                hosts.join(" and ")
            ),
        ));
    }
}

/// Per-host checks: own-name resolution, clock, bramble, the program.
fn check_host(probe: &Probe, program: Option<&str>, problems: &mut Vec<(String, String)>) {
    let host = probe.host.clone();
    check_self_resolution(&probe.facts, &host, problems);
    if let Ok(remote) = probe.facts.get("time").parse::<f64>() {
        let skew = if remote < probe.sent {
            probe.sent - remote
        } else {
            (remote - probe.received).max(0.0)
        };
        if skew > MAX_SKEW_SECONDS {
            problems.push((host.clone(), format!(
                "its clock is off by {skew:.1} s; enable time sync there: sudo timedatectl set-ntp true"
            )));
        }
    }
    match probe.facts.get("version") {
        VERSION_LINE => {}
        "" => problems.push((
            host.clone(),
            "bramble is not installed; run bramble setup to copy it".into(),
        )),
        other => problems.push((
            host.clone(),
            format!("has {other:?}, the head has {VERSION_LINE:?}; run bramble setup to update it"),
        )),
    }
    if let Some(program) = program {
        if probe.facts.get("program") != "yes" {
            problems.push((
                host.clone(),
                format!("{program} is missing or not executable; copy it with bramble copy {program} {program}"),
            ));
        }
    }
}

/// A host whose own name resolves to loopback (Debian's `127.0.1.1` line)
/// advertises an address no other host can reach.
fn check_self_resolution(facts: &Facts, viewer: &str, problems: &mut Vec<(String, String)>) {
    let loopback: Vec<&str> = facts
        .get("self")
        .split_whitespace()
        .filter(|a| a.starts_with("127."))
        .collect();
    if !loopback.is_empty() {
        let own = loopback.join(", ");
        let name = match viewer {
            "the head" => local_hostname(),
            _ => facts.get("hostname").to_string(),
        };
        problems.push((
            viewer.to_string(),
            format!(
                "its own name {name} resolves to {own} (loopback), so others cannot reach what it advertises; remove that line from its /etc/hosts (bramble setup writes the right one)"
            ),
        ));
    }
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(host: &str, text: &str) -> Probe {
        Probe {
            host: host.into(),
            facts: Facts::parse(text),
            sent: 100.0,
            received: 100.5,
        }
    }

    #[test]
    fn finds_duplicate_hostnames_and_wrong_resolution() {
        let a = "hostname=raspberrypi\naddress=10.0.0.1\nresolve.a=10.0.0.1\nresolve.b=10.0.0.9\n";
        let b = "hostname=raspberrypi\naddress=10.0.0.2\nresolve.a=10.0.0.1\nresolve.b=10.0.0.2\n";
        let head = Facts::parse("resolve.a=10.0.0.1\nresolve.b=10.0.0.2 10.0.0.3\n");
        let mut problems = Vec::new();
        check_names(&head, &[probe("a", a), probe("b", b)], &mut problems);
        let text: Vec<String> = problems.iter().map(|(_, p)| p.clone()).collect();
        assert!(
            text.iter().any(|p| p.contains("several addresses")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|p| p.contains("on a, b resolves to 10.0.0.9")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|p| p.contains("call themselves \"raspberrypi\"")),
            "{text:?}"
        );
    }

    #[test]
    fn clock_skew_beyond_the_probe_time_is_a_problem() {
        let mut problems = Vec::new();
        let version = format!("version={VERSION_LINE}\n");
        check_host(
            &probe("a", &format!("{version}time=100.2")),
            None,
            &mut problems,
        );
        assert!(problems.is_empty(), "{problems:?}");
        check_host(
            &probe("a", &format!("{version}time=98.5")),
            None,
            &mut problems,
        );
        assert!(
            problems[0].1.contains("clock is off by 1.5 s"),
            "{problems:?}"
        );
    }
}
