//! `bramble setup`: from freshly flashed boxes to a working bramble, run on
//! the head node. Every step checks before it changes anything, so a second
//! run changes nothing and says so.
//!
//! 1. an ed25519 key on the head (created if missing);
//! 2. that key in every host's `authorized_keys` (the first login may ask
//!    for the password, once, through ssh itself); host keys recorded;
//! 3. with `--rename`, unique hostnames in hostfile order;
//! 4. the same `# BEGIN bramble` block in every `/etc/hosts`, the head's too;
//! 5. this `bramble` binary in `/usr/local/bin` where missing or different;
//! 6. the hostfile.

use std::path::{Path, PathBuf};

use bramble_remote::{Failure, HostOutput};

use crate::facts::Facts;
use crate::rename::Pattern;
use crate::{etc_hosts, table, Cluster, SUDO, VERSION_LINE};

/// What `bramble setup` was asked to do beyond the defaults.
pub struct SetupOptions {
    pub rename: Option<Pattern>,
    pub hostfile_out: PathBuf,
    /// The binary to install on the hosts (normally this one).
    pub binary: PathBuf,
}

/// One host's progress through the steps; `None` for steps not reached.
struct HostState {
    given: String,
    address: String,
    head_address: String,
    old_name: String,
    name: String,
    key: String,
    rename: String,
    hosts: String,
    binary: String,
    error: Option<String>,
}

/// Runs setup; `Ok(false)` when some host could not be set up.
pub fn run(cluster: &Cluster, options: &SetupOptions) -> Result<bool, String> {
    let (public_key, key_note) = ensure_key()?;
    println!("{key_note}");
    let binary = std::fs::read(&options.binary).map_err(|e| {
        format!(
            "cannot read the bramble binary {}: {e}",
            options.binary.display()
        )
    })?;

    // Step 2 goes host by host: a password prompt must not interleave.
    let mut states: Vec<HostState> = cluster
        .names()
        .iter()
        .map(|host| install_key(cluster, host, &public_key))
        .collect();

    for (number, state) in states.iter_mut().enumerate() {
        state.name = match &options.rename {
            Some(pattern) => pattern.name(number + 1),
            None => state.old_name.clone(),
        };
    }
    let reachable: Vec<&HostState> = states.iter().filter(|s| s.error.is_none()).collect();
    refuse_duplicate_names(&reachable, options.rename.is_some())?;

    let block = etc_hosts::block(&hosts_entries(&reachable));
    let names: Vec<String> = reachable
        .iter()
        .flat_map(|s| [s.name.clone(), s.old_name.clone()])
        .collect();
    std::thread::scope(|scope| {
        for state in states.iter_mut() {
            let (block, names, binary) = (&block, &names, &binary);
            scope.spawn(move || {
                if state.error.is_none() {
                    configure(cluster, state, block, names, binary);
                }
                print_progress(state);
            });
        }
    });

    let head = update_local_hosts(&block, &names)?;
    check_by_name(cluster, &mut states);
    let hostfile = write_hostfile(&states, cluster, &options.hostfile_out)?;
    print_summary(&states, &head, &hostfile);
    Ok(states.iter().all(|s| s.error.is_none()))
}

/// Creates `~/.ssh/id_ed25519` unless it exists; returns the public key.
fn ensure_key() -> Result<(String, String), String> {
    let home = std::env::var("HOME").map_err(|_| "HOME is not set; cannot find ~/.ssh")?;
    let key = Path::new(&home).join(".ssh/id_ed25519");
    let public = key.with_extension("pub");
    let note = if key.exists() {
        format!("key: using {}", key.display())
    } else {
        std::fs::create_dir_all(Path::new(&home).join(".ssh"))
            .map_err(|e| format!("cannot create {home}/.ssh: {e}"))?;
        let output = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&key)
            .output()
            .map_err(|e| format!("cannot run ssh-keygen ({e}); install openssh-client"))?;
        if !output.status.success() {
            return Err(format!(
                "ssh-keygen failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        format!("key: created {}", key.display())
    };
    let text = std::fs::read_to_string(&public)
        .map_err(|e| format!("cannot read {}: {e}", public.display()))?;
    Ok((text.trim().to_string(), note))
}

/// Step 2, plus the facts later steps need (name, addresses).
fn install_key(cluster: &Cluster, host: &str, public_key: &str) -> HostState {
    let key = bramble_remote::quote::quote(public_key);
    let script = format!(
        "umask 077; mkdir -p ~/.ssh && touch ~/.ssh/authorized_keys || exit 1\n\
         if grep -qxF {key} ~/.ssh/authorized_keys; then echo key=present; \
         else echo {key} >> ~/.ssh/authorized_keys && echo key=added || exit 1; fi\n\
         echo hostname=$(hostname)\n\
         set -- $SSH_CONNECTION; echo head=$1; echo address=$3\n"
    );
    let mut output = cluster.ssh.run(host, &script, None);
    if output.failure() == Some(Failure::PermissionDenied) {
        println!("{host}: no key access yet; ssh asks for the password once");
        let interactive = cluster.ssh.clone().interactive();
        output = HostOutput::collect(host, interactive.shell(host, &script), None, "ssh");
    }
    let facts = Facts::parse(&output.stdout);
    let mut state = HostState {
        given: host.to_string(),
        address: facts.get("address").to_string(),
        head_address: facts.get("head").to_string(),
        old_name: facts.get("hostname").to_string(),
        name: String::new(),
        key: facts.get("key").to_string(),
        rename: String::new(),
        hosts: String::new(),
        binary: String::new(),
        error: None,
    };
    if let Some(failure) = output.failure() {
        state.error = Some(failure.explain(host));
    } else if state.address.is_empty() || state.old_name.is_empty() {
        state.error = Some(format!(
            "{host}: did not report its name and address (is its login shell a POSIX shell?)"
        ));
    }
    state
}

fn refuse_duplicate_names(states: &[&HostState], renaming: bool) -> Result<(), String> {
    for (i, a) in states.iter().enumerate() {
        if let Some(b) = states[i + 1..].iter().find(|b| b.name == a.name) {
            return Err(if renaming {
                format!("{} and {} would both be named {}", a.given, b.given, a.name)
            } else {
                format!(
                    "{} and {} are both named {:?} (cloned SD cards?); give them unique names with --rename 'pinode{{:02}}'",
                    a.given, b.given, a.name
                )
            });
        }
    }
    Ok(())
}

/// The `/etc/hosts` entries: the head (unless it is one of the hosts) and
/// every reachable host, by the address the head reaches it at.
fn hosts_entries(states: &[&HostState]) -> Vec<(String, String)> {
    let mut entries = Vec::new();
    let head_name = local_hostname();
    if let Some(first) = states.first() {
        let head_listed = states
            .iter()
            .any(|s| s.name == head_name || s.address == first.head_address);
        if !head_listed && !head_name.is_empty() {
            entries.push((first.head_address.clone(), head_name));
        }
    }
    entries.extend(states.iter().map(|s| (s.address.clone(), s.name.clone())));
    entries
}

/// Steps 3 to 5 on one host.
fn configure(
    cluster: &Cluster,
    state: &mut HostState,
    block: &str,
    names: &[String],
    binary: &[u8],
) {
    let host = state.given.clone();
    let name = bramble_remote::quote::quote(&state.name);
    let script = format!(
        "{SUDO}if [ \"$(hostname)\" != {name} ]; then \
         echo {name} | $S tee /etc/hostname >/dev/null && $S hostname {name} && echo renamed=yes || exit 1; fi\n\
         echo version=$(PATH=$PATH:/usr/local/bin bramble --version 2>/dev/null)\n\
         echo ---; cat /etc/hosts\n"
    );
    let output = cluster.ssh.run(&host, &script, None);
    if let Some(failure) = output.failure() {
        state.error = Some(failure.explain(&host));
        return;
    }
    let (head, current_hosts) = output
        .stdout
        .split_once("---\n")
        .unwrap_or((&output.stdout, ""));
    let facts = Facts::parse(head);
    state.rename = if facts.get("renamed") == "yes" {
        format!("renamed from {}", state.old_name)
    } else {
        "ok".into()
    };

    let wanted = etc_hosts::with_block(current_hosts, block, names);
    state.hosts = if wanted == current_hosts {
        "ok".into()
    } else {
        let write = cluster.ssh.run(
            &host,
            &format!("{SUDO}$S tee /etc/hosts >/dev/null"),
            Some(wanted.as_bytes()),
        );
        if let Some(failure) = write.failure() {
            state.error = Some(format!("writing /etc/hosts: {}", failure.explain(&host)));
            return;
        }
        "updated".into()
    };

    state.binary = if facts.get("version") == VERSION_LINE {
        "ok".into()
    } else {
        let install = cluster.ssh.run(
            &host,
            &format!(
                "{SUDO}$S mkdir -p /usr/local/bin && \
                 $S tee /usr/local/bin/.bramble.new >/dev/null && \
                 $S chmod 755 /usr/local/bin/.bramble.new && \
                 $S mv -f /usr/local/bin/.bramble.new /usr/local/bin/bramble && \
                 /usr/local/bin/bramble --version"
            ),
            Some(binary),
        );
        if let Some(failure) = install.failure() {
            state.error = Some(format!(
                "copying bramble: {} (a different CPU architecture? build bramble for it)",
                failure.explain(&host)
            ));
            return;
        }
        match facts.get("version") {
            "" => "installed".into(),
            old => format!("updated from {old}"),
        }
    };
}

/// Connects to every host by its (new) name, which also records its host
/// key under that name, so the hostfile's names work from the head.
fn check_by_name(cluster: &Cluster, states: &mut [HostState]) {
    std::thread::scope(|scope| {
        for state in states.iter_mut().filter(|s| s.error.is_none()) {
            scope.spawn(move || {
                if let Some(failure) = cluster.ssh.run(&state.name, "true", None).failure() {
                    state.error = Some(format!(
                        "set up, but not reachable by its name: {}",
                        failure.explain(&state.name)
                    ));
                }
            });
        }
    });
}

fn print_progress(state: &HostState) {
    match &state.error {
        Some(error) => println!("{}: FAILED: {error}", state.given),
        None => println!(
            "{}: key {}, name {} ({}), /etc/hosts {}, bramble {}",
            state.given, state.key, state.name, state.rename, state.hosts, state.binary
        ),
    }
}

/// Step 4 on the head itself.
fn update_local_hosts(block: &str, names: &[String]) -> Result<String, String> {
    let path = Path::new("/etc/hosts");
    let current =
        std::fs::read_to_string(path).map_err(|e| format!("cannot read /etc/hosts: {e}"))?;
    let wanted = etc_hosts::with_block(&current, block, names);
    if wanted == current {
        return Ok("ok".into());
    }
    // Written in place (not renamed over) so a bind-mounted file works too.
    std::fs::write(path, wanted).map_err(|e| {
        format!("cannot write /etc/hosts on the head: {e}; run bramble setup with sudo")
    })?;
    Ok("updated".into())
}

/// Step 6: `name:slots` lines in the given order.
fn write_hostfile(states: &[HostState], cluster: &Cluster, path: &Path) -> Result<String, String> {
    let mut text = String::from("# written by bramble setup\n");
    for state in states.iter().filter(|s| s.error.is_none()) {
        let slots = cluster
            .hosts
            .iter()
            .find(|h| h.name == state.given)
            .map_or(1, |h| h.slots);
        text.push_str(&format!("{}:{slots}\n", state.name));
    }
    if std::fs::read_to_string(path).ok().as_deref() == Some(text.as_str()) {
        return Ok("ok".into());
    }
    std::fs::write(path, &text)
        .map_err(|e| format!("cannot write the hostfile {}: {e}", path.display()))?;
    Ok("written".into())
}

fn print_summary(states: &[HostState], head: &str, hostfile: &str) {
    let rows: Vec<Vec<String>> = states
        .iter()
        .map(|s| match &s.error {
            Some(error) => vec![
                s.given.clone(),
                s.address.clone(),
                format!("FAILED: {error}"),
            ],
            None => vec![
                s.name.clone(),
                s.address.clone(),
                s.key.clone(),
                s.rename.clone(),
                s.hosts.clone(),
                s.binary.clone(),
            ],
        })
        .collect();
    println!();
    print!(
        "{}",
        table::render(
            &["HOST", "ADDRESS", "KEY", "NAME", "/etc/hosts", "BRAMBLE"],
            &rows
        )
    );
    println!("head /etc/hosts: {head}; hostfile: {hostfile}");
    let unchanged = |v: &str| v == "ok" || v == "present";
    let changed = states.iter().any(|s| {
        s.error.is_none()
            && ![&s.key, &s.rename, &s.hosts, &s.binary]
                .iter()
                .all(|v| unchanged(v))
    }) || !unchanged(head)
        || !unchanged(hostfile);
    let failed = states.iter().filter(|s| s.error.is_some()).count();
    if failed > 0 {
        println!("{failed} host(s) failed; fix them and run bramble setup again");
    } else if changed {
        println!("done; running bramble setup again will change nothing");
    } else {
        println!("nothing changed: everything was already set up");
    }
}

/// This machine's hostname.
pub(crate) fn local_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .unwrap_or_default()
}
