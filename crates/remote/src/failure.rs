//! Recognizing why an ssh command failed from its exit status and stderr,
//! and saying how to fix it.

use std::fmt;

/// A classified failure of a remote command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The name does not resolve.
    UnknownName,
    /// No answer: powered off, unplugged, wrong address.
    Unreachable,
    /// The host answers but nothing listens on the ssh port.
    Refused,
    /// The host refused our key (and we would not ask for a password).
    PermissionDenied,
    /// The host's key differs from the one in `known_hosts`.
    HostKeyChanged,
    /// The remote shell did not find the command (exit 127).
    CommandNotFound,
    /// Any other failure: the exit code (`None`: killed or never started)
    /// and the last line of stderr.
    Other { code: Option<i32>, detail: String },
}

impl Failure {
    /// `None` for success (code 0).
    pub fn classify(code: Option<i32>, stderr: &str) -> Option<Failure> {
        if code == Some(0) {
            return None;
        }
        let has = |needle: &str| stderr.contains(needle);
        Some(
            if has("REMOTE HOST IDENTIFICATION HAS CHANGED") || has("Host key verification failed")
            {
                Failure::HostKeyChanged
            } else if has("Could not resolve hostname") || has("Name or service not known") {
                Failure::UnknownName
            } else if has("Connection refused") {
                Failure::Refused
            } else if has("No route to host")
                || has("Connection timed out")
                || has("timed out")
                || has("Network is unreachable")
            {
                Failure::Unreachable
            } else if has("Permission denied (") || has("Too many authentication failures") {
                Failure::PermissionDenied
            } else if code == Some(127) || has("command not found") {
                Failure::CommandNotFound
            } else {
                Failure::Other {
                    code,
                    detail: stderr.lines().last().unwrap_or("").trim().to_string(),
                }
            },
        )
    }

    /// A sentence about `host`: what is wrong and what to do.
    pub fn explain(&self, host: &str) -> String {
        match self {
            Failure::UnknownName => format!(
                "{host}: the name does not resolve; use its address, or add it to /etc/hosts (bramble setup does)"
            ),
            Failure::Unreachable => format!(
                "{host}: no answer; is it powered on and cabled, and is the address right?"
            ),
            Failure::Refused => format!(
                "{host}: connection refused; start its ssh server (sudo systemctl enable --now ssh, or add an empty file named ssh to the SD card's boot partition)"
            ),
            Failure::PermissionDenied => format!(
                "{host}: permission denied (publickey,password); install your key with: bramble setup {host}"
            ),
            Failure::HostKeyChanged => format!(
                "{host}: its host key changed (reflashed or cloned SD card?); if that is expected, run: ssh-keygen -R {host}"
            ),
            Failure::CommandNotFound => format!(
                "{host}: command not found there; install it or give its full path"
            ),
            Failure::Other { code: Some(code), detail } => {
                format!("{host}: exited with status {code}: {detail}")
            }
            Failure::Other { code: None, detail } => format!("{host}: failed: {detail}"),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.explain("host"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognizes_opensshs_messages() {
        let cases = [
            ("ssh: Could not resolve hostname pi9: Name or service not known", Failure::UnknownName),
            ("ssh: connect to host 10.0.0.9 port 22: No route to host", Failure::Unreachable),
            ("ssh: connect to host pi1 port 22: Connection timed out", Failure::Unreachable),
            ("ssh: connect to host pi1 port 22: Connection refused", Failure::Refused),
            ("root@pi1: Permission denied (publickey,password).", Failure::PermissionDenied),
            (
                "@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\nHost key verification failed.",
                Failure::HostKeyChanged,
            ),
        ];
        for (stderr, expected) in cases {
            assert_eq!(
                Failure::classify(Some(255), stderr),
                Some(expected),
                "{stderr}"
            );
        }
        assert_eq!(
            Failure::classify(Some(127), "sh: 1: frob: not found"),
            Some(Failure::CommandNotFound)
        );
        assert_eq!(Failure::classify(Some(0), "noise"), None);
        let other = Failure::classify(Some(3), "first\nlast words\n").unwrap();
        assert_eq!(
            other.explain("pi2"),
            "pi2: exited with status 3: last words"
        );
    }

    #[test]
    fn explanations_say_what_to_do() {
        assert!(Failure::PermissionDenied
            .explain("pi1")
            .contains("bramble setup pi1"));
        assert!(Failure::HostKeyChanged
            .explain("pi1")
            .contains("ssh-keygen -R pi1"));
    }
}
