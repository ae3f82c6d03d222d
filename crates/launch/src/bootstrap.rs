//! Starting a proxy on a host: fork for this host, ssh for the others.
//!
//! Either way the proxy's stdin/stdout become the control channel. Proxies get
//! their own process group so a Ctrl-C at the terminal reaches only the
//! launcher, which then ends the job in order.

use std::net::{IpAddr, ToSocketAddrs, UdpSocket};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use bramble_remote::quote::quote;
use bramble_remote::Ssh;

/// Whether `host` names the machine the launcher runs on: `localhost`, this
/// host's name, or a name or address that resolves to one of this host's own
/// addresses (a hostfile often lists the launching Pi by its full name or IP).
pub fn is_local(host: &str, own_name: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") || host.eq_ignore_ascii_case(own_name) {
        return true;
    }
    match (host, 0).to_socket_addrs() {
        Ok(mut addresses) => addresses.any(|address| is_own_address(address.ip())),
        Err(_) => false,
    }
}

/// An address is ours when it is loopback or a socket can bind to it: the
/// kernel allows that only for addresses of this host's interfaces.
fn is_own_address(ip: IpAddr) -> bool {
    ip.is_loopback() || UdpSocket::bind((ip, 0)).is_ok()
}

/// The path of the running `bramble` binary, used to start local proxies and
/// tried first on remote hosts.
pub fn own_binary() -> Result<PathBuf, String> {
    std::env::current_exe().map_err(|e| format!("cannot find the bramble binary itself: {e}"))
}

/// Starts a proxy for `host`.
pub fn start_proxy(host: &str, local: bool, ssh: &Ssh) -> Result<Child, String> {
    let binary = own_binary()?;
    let mut command = if local {
        let mut command = Command::new(&binary);
        command.arg("proxy");
        command
    } else {
        ssh.shell(host, &remote_proxy_command(&binary))
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
            format!("cannot run ssh to reach {host} ({e}): is OpenSSH's client installed?")
        }
    })
}

/// The shell command a remote host runs: bramble at our own absolute path if
/// it is there, else the one on its PATH.
fn remote_proxy_command(binary: &std::path::Path) -> String {
    let path = quote(&binary.display().to_string());
    format!(
        "p={path}; [ -x \"$p\" ] || p=bramble; command -v \"$p\" >/dev/null 2>&1 || {{ echo 'bramble is not installed on this host (install it or run bramble setup)' >&2; exit 127; }}; exec \"$p\" proxy"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_names_and_addresses() {
        assert!(is_local("localhost", "pi1"));
        assert!(is_local("pi1", "pi1"));
        assert!(is_local("PI1", "pi1"));
        assert!(is_local("127.0.0.1", "pi1"));
        assert!(is_local("::1", "pi1"));
        assert!(
            is_local("127.0.1.1", "pi1"),
            "Debian lists its own name there"
        );
        // Address literals only, so the test asks no name server. TEST-NET-1 (RFC 5737) is never assigned to a real interface.
        assert!(!is_local("192.0.2.77", "pi1"));
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
