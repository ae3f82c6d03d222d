//! Running commands on other hosts through the system's OpenSSH, never
//! prompting (except for a deliberate first login), one host or many at once.
//!
//! The ssh program can be replaced (`--ssh CMD` or `BRAMBLE_SSH`, split on
//! whitespace, like Hydra's `-launcher-exec`); it is called exactly like ssh:
//! `CMD -o Opt=val ... [user@]HOST -- COMMAND`.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::failure::Failure;
use crate::quote;

/// The environment variable that overrides the ssh command.
pub const SSH_ENV: &str = "BRAMBLE_SSH";

/// How to reach hosts: the ssh program and the options bramble adds.
#[derive(Debug, Clone)]
pub struct Ssh {
    program: Vec<String>,
    batch: bool,
    connect_timeout: u32,
    user: Option<String>,
}

impl Ssh {
    /// The ssh command `command`, else `$BRAMBLE_SSH`, else `ssh`; batch mode,
    /// new host keys accepted, changed ones refused, 5 s connect timeout.
    pub fn new(command: Option<&str>) -> Result<Ssh, String> {
        let (text, origin) = match command {
            Some(text) => (text.to_string(), "--ssh"),
            None => match std::env::var(SSH_ENV) {
                Ok(text) => (text, SSH_ENV),
                Err(_) => ("ssh".to_string(), "default"),
            },
        };
        let program: Vec<String> = text.split_whitespace().map(String::from).collect();
        if program.is_empty() {
            return Err(format!(
                "the ssh command from {origin} is empty; give a program such as ssh"
            ));
        }
        Ok(Ssh {
            program,
            batch: true,
            connect_timeout: 5,
            user: None,
        })
    }

    /// Allows ssh to ask for a password (no `BatchMode`), for a first login
    /// before keys are installed. Needs a terminal (or sshpass).
    pub fn interactive(mut self) -> Ssh {
        self.batch = false;
        self
    }

    /// Log in as `user` instead of the current user.
    pub fn user(mut self, user: Option<&str>) -> Ssh {
        self.user = user.map(String::from);
        self
    }

    /// Seconds to wait for a connection before calling a host unreachable.
    pub fn connect_timeout(mut self, seconds: u32) -> Ssh {
        self.connect_timeout = seconds;
        self
    }

    /// The options bramble passes before the host.
    fn options(&self) -> Vec<String> {
        let mut options = vec![
            format!("BatchMode={}", if self.batch { "yes" } else { "no" }),
            "StrictHostKeyChecking=accept-new".to_string(),
            format!("ConnectTimeout={}", self.connect_timeout),
            "ServerAliveInterval=5".to_string(),
            "ServerAliveCountMax=3".to_string(),
        ];
        if !self.batch {
            // Ask for the password once, not three times.
            options.push("NumberOfPasswordPrompts=1".to_string());
        }
        options
            .into_iter()
            .flat_map(|option| ["-o".to_string(), option])
            .collect()
    }

    /// `[user@]host`.
    pub fn destination(&self, host: &str) -> String {
        match &self.user {
            Some(user) => format!("{user}@{host}"),
            None => host.to_string(),
        }
    }

    /// A command that runs `script` through the remote user's shell on `host`.
    pub fn shell(&self, host: &str, script: &str) -> Command {
        let mut command = Command::new(&self.program[0]);
        command
            .args(&self.program[1..])
            .args(self.options())
            .arg(self.destination(host))
            .arg("--")
            .arg(script);
        command
    }

    /// A command that runs exactly `argv` on `host` (quoted for its shell);
    /// stdin and stdout are the remote program's.
    pub fn command<S: AsRef<str>>(&self, host: &str, argv: &[S]) -> Command {
        self.shell(host, &quote::join(argv))
    }

    /// Runs `script` on `host`, feeding `stdin`, and collects the result.
    pub fn run(&self, host: &str, script: &str, stdin: Option<&[u8]>) -> HostOutput {
        HostOutput::collect(host, self.shell(host, script), stdin, &self.program[0])
    }

    /// Runs `script(host)` on every host at once; results in host order.
    pub fn run_all(
        &self,
        hosts: &[String],
        script: impl Fn(&str) -> String + Sync,
        stdin: Option<&[u8]>,
    ) -> Vec<HostOutput> {
        parallel(hosts, |host| self.run(host, &script(host), stdin))
    }
}

/// Calls `job` for every host on its own thread; results in host order.
pub fn parallel<T: Send>(hosts: &[String], job: impl Fn(&str) -> T + Sync) -> Vec<T> {
    std::thread::scope(|scope| {
        let job = &job;
        let handles: Vec<_> = hosts
            .iter()
            .map(|host| scope.spawn(move || job(host)))
            .collect();
        handles
            .into_iter()
            .map(|handle| match handle.join() {
                Ok(value) => value,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

/// What one host's command did.
#[derive(Debug, Clone)]
pub struct HostOutput {
    pub host: String,
    /// The exit code; `None` when it was killed by a signal or never ran.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl HostOutput {
    /// Runs `command` to completion; a program that cannot start becomes a
    /// failed output (code `None`) explaining why.
    pub fn collect(host: &str, mut command: Command, stdin: Option<&[u8]>, program: &str) -> Self {
        command
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let failed = |message: String| HostOutput {
            host: host.to_string(),
            code: None,
            stdout: String::new(),
            stderr: message,
        };
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => {
                return failed(format!(
                    "cannot run {program}: {e} (install openssh-client or fix --ssh/{SSH_ENV})"
                ))
            }
        };
        if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
            // A remote side that exits early closes the pipe; its exit status
            // tells the real story, so a write error here is not reported.
            let _ = pipe.write_all(data);
        }
        match child.wait_with_output() {
            Ok(output) => HostOutput {
                host: host.to_string(),
                code: output.status.code(),
                stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            },
            Err(e) => failed(format!("waiting for {program}: {e}")),
        }
    }

    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// Why it failed, in words a user can act on; `None` on success.
    pub fn failure(&self) -> Option<Failure> {
        Failure::classify(self.code, &self.stderr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(command: &Command) -> Vec<String> {
        std::iter::once(command.get_program())
            .chain(command.get_args())
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn builds_a_non_interactive_ssh_line() {
        let ssh = Ssh::new(Some("ssh")).unwrap().user(Some("pi"));
        let line = args(&ssh.command("pi1", &["echo", "a b"]));
        assert_eq!(line[0], "ssh");
        assert!(line.contains(&"BatchMode=yes".to_string()));
        assert!(line.contains(&"StrictHostKeyChecking=accept-new".to_string()));
        assert_eq!(&line[line.len() - 3..], ["pi@pi1", "--", "echo 'a b'"]);
    }

    #[test]
    fn custom_command_keeps_its_arguments_and_interactive_drops_batch_mode() {
        let ssh = Ssh::new(Some("sshpass -p pw ssh")).unwrap().interactive();
        let line = args(&ssh.shell("h", "true"));
        assert_eq!(&line[..4], ["sshpass", "-p", "pw", "ssh"]);
        assert!(line.contains(&"BatchMode=no".to_string()));
        assert!(Ssh::new(Some("  ")).is_err());
    }

    #[test]
    fn runs_in_parallel_through_a_stand_in_ssh() {
        // A stand-in that runs its last argument locally plays ssh.
        let fake = std::env::temp_dir().join(format!("bramble-fake-ssh-{}", std::process::id()));
        std::fs::write(
            &fake,
            "#!/bin/sh\nfor a; do last=$a; done\nexec sh -c \"$last\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let ssh = Ssh::new(Some(fake.to_str().unwrap())).unwrap();
        let hosts: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let results = ssh.run_all(
            &hosts,
            |h| format!("echo on {h}; cat; exit {}", (h == "b") as i32),
            Some(b"in"),
        );
        std::fs::remove_file(&fake).unwrap();
        assert_eq!(results[0].stdout, "on a\nin");
        assert!(results[0].success());
        assert_eq!(results[1].code, Some(1));
        assert_eq!(results[2].host, "c");
    }

    #[test]
    fn a_missing_ssh_program_is_a_clear_failure() {
        let ssh = Ssh::new(Some("/nonexistent/ssh")).unwrap();
        let result = ssh.run("h", "true", None);
        assert!(!result.success());
        assert!(
            result.stderr.contains("cannot run /nonexistent/ssh"),
            "{}",
            result.stderr
        );
    }
}
