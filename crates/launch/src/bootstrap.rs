//! Starting a proxy on a host: fork for this host, ssh for the others.
//!
//! Either way the proxy's stdin/stdout become the control channel. Proxies get
//! their own process group so a Ctrl-C at the terminal reaches only the
//! launcher, which then ends the job in order.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// Whether `host` names the machine the launcher runs on.
pub fn is_local(host: &str, own_name: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "::1") || host == own_name
}

/// The path of the running `bramble` binary, used to start local proxies and
/// tried first on remote hosts.
pub fn own_binary() -> Result<PathBuf, String> {
    std::env::current_exe().map_err(|e| format!("cannot find the bramble binary itself: {e}"))
}

/// Starts a proxy for `host`.
pub fn start_proxy(host: &str, local: bool, ssh: &[String]) -> Result<Child, String> {
    let binary = own_binary()?;
    let mut command = if local {
        let mut command = Command::new(&binary);
        command.arg("proxy");
        command
    } else {
        let (program, options) = ssh
            .split_first()
            .ok_or_else(|| "the ssh command is empty (check --ssh / BRAMBLE_SSH)".to_string())?;
        let mut command = Command::new(program);
        command
            .args(options)
            .arg(host)
            .arg(remote_proxy_command(&binary));
        command
    };
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    command.spawn().map_err(|e| {
        if local {
            format!("cannot start the local proxy {}: {e}", binary.display())
        } else {
            format!(
                "cannot run {:?} to reach {host}: {e}",
                ssh.first().map(String::as_str).unwrap_or("ssh")
            )
        }
    })
}

/// The shell command a remote host runs: bramble at our own absolute path if
/// it is there, else the one on its PATH.
fn remote_proxy_command(binary: &std::path::Path) -> String {
    let path = binary.display().to_string().replace('\'', r"'\''");
    format!(
        "p='{path}'; [ -x \"$p\" ] || p=bramble; command -v \"$p\" >/dev/null 2>&1 || {{ echo 'bramble is not installed on this host (install it or run bramble setup)' >&2; exit 127; }}; exec \"$p\" proxy"
    )
}

/// The default ssh command: the system's OpenSSH, never prompting, accepting
/// new host keys but refusing changed ones.
pub fn default_ssh() -> Vec<String> {
    [
        "ssh",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=accept-new",
        "-o",
        "ConnectTimeout=5",
        "-o",
        "ServerAliveInterval=2",
        "-o",
        "ServerAliveCountMax=3",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_names() {
        assert!(is_local("localhost", "pi1"));
        assert!(is_local("pi1", "pi1"));
        assert!(!is_local("pi2", "pi1"));
    }

    #[test]
    fn remote_command_quotes_the_path() {
        let command = remote_proxy_command(std::path::Path::new("/opt/it's/bramble"));
        assert!(
            command.starts_with(r"p='/opt/it'\''s/bramble';"),
            "{command}"
        );
        assert!(command.ends_with("exec \"$p\" proxy"));
    }
}
