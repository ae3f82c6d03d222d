//! `bramble exec -- CMD`: runs a command on every host at once, prints each
//! output line labelled `host: line` (pdsh style) as hosts finish, then a
//! summary. The words of CMD are joined with spaces and run by the remote
//! shell, exactly as `ssh host CMD` would.

use bramble_remote::HostOutput;

use crate::Cluster;

/// Runs `command` everywhere; `Ok(false)` when it failed anywhere.
pub fn run(cluster: &Cluster, command: &[String]) -> Result<bool, String> {
    if command.is_empty() {
        return Err("no command given: bramble exec -- uptime".into());
    }
    let script = command.join(" ");
    let results = bramble_remote::ssh::parallel(&cluster.names(), |host| {
        let output = cluster.ssh.run(host, &script, None);
        print_labelled(&output);
        output
    });
    let failed: Vec<String> = results
        .iter()
        .filter_map(|output| {
            output.failure().map(|failure| match output.code {
                // 255 is ssh's own failure; other codes are the command's.
                Some(255) | None => failure.explain(&output.host),
                Some(code) => format!("{}: exit {code}", output.host),
            })
        })
        .collect();
    if failed.is_empty() {
        println!("{} hosts: all ok", results.len());
    } else {
        println!(
            "{} hosts: {} ok, {} failed",
            results.len(),
            results.len() - failed.len(),
            failed.len()
        );
        for line in &failed {
            println!("  {line}");
        }
    }
    Ok(failed.is_empty())
}

/// Prints one host's output; stdout lines to stdout, stderr lines to stderr.
/// A whole host at a time, so lines of different hosts never interleave
/// mid-line.
fn print_labelled(output: &HostOutput) {
    let stdout = std::io::stdout();
    let _lock = stdout.lock();
    for line in output.stdout.lines() {
        println!("{}: {line}", output.host);
    }
    for line in output.stderr.lines() {
        eprintln!("{}: {line}", output.host);
    }
}
