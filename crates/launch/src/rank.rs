//! Starting one rank: the program, its environment, its PMI socket, its stdio.
//!
//! Each rank gets its own process group, so ending a rank ends whatever it
//! started too, and dies with its proxy (`PR_SET_PDEATHSIG`), so no rank can
//! outlive the job even if the proxy is killed outright.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};

use crate::protocol::{Exit, NodePlan};

/// After SIGTERM, how long ranks get before SIGKILL.
pub const TERM_GRACE: std::time::Duration = std::time::Duration::from_millis(300);

/// Finds the program the way `execvp` will, and says clearly why it cannot
/// run; checks the working directory too, which may be missing on other hosts.
pub fn check_program(plan: &NodePlan) -> Result<PathBuf, String> {
    if !Path::new(&plan.wdir).is_dir() {
        return Err(format!(
            "the working directory {} does not exist here (create it, or choose another with --wdir)",
            plan.wdir
        ));
    }
    let program = Path::new(&plan.program);
    let candidates: Vec<PathBuf> = if plan.program.contains('/') {
        vec![Path::new(&plan.wdir).join(program)]
    } else {
        let path = plan
            .env
            .iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.as_str())
            .unwrap_or("/usr/local/bin:/usr/bin:/bin");
        path.split(':')
            .filter(|dir| !dir.is_empty())
            .map(|dir| Path::new(dir).join(program))
            .collect()
    };
    for candidate in &candidates {
        if let Ok(meta) = candidate.metadata() {
            if meta.is_file() && meta.permissions().mode() & 0o111 != 0 {
                return Ok(candidate.clone());
            }
            if meta.is_file() {
                return Err(format!(
                    "{} is not executable (try chmod +x)",
                    candidate.display()
                ));
            }
        }
    }
    if plan.program.contains('/') {
        Err(format!(
            "{} does not exist (looked in {})",
            plan.program, plan.wdir
        ))
    } else {
        Err(format!("{} was not found in PATH", plan.program))
    }
}

/// The pipes of a started rank.
pub struct Started {
    pub child: Child,
}

/// Starts the rank at position `local` of the node plan.
pub fn spawn(
    plan: &NodePlan,
    program: &Path,
    local: usize,
    pmi_fd: OwnedFd,
) -> io::Result<Started> {
    let rank = plan.ranks[local];
    let fd = pmi_fd.as_raw_fd();
    let mut command = Command::new(program);
    command
        .args(&plan.args)
        .env_clear()
        .envs(plan.env.iter().map(|(k, v)| (k, v)))
        .env("PMI_FD", fd.to_string())
        .env("PMI_RANK", rank.to_string())
        .env("PMI_SIZE", plan.size.to_string())
        .env("MPI_LOCALNRANKS", plan.ranks.len().to_string())
        .env("MPI_LOCALRANKID", local.to_string())
        .env("BRAMBLE_RANK", rank.to_string())
        .env("BRAMBLE_SIZE", plan.size.to_string())
        .env("BRAMBLE_LOCAL_RANK", local.to_string())
        .env("BRAMBLE_LOCAL_SIZE", plan.ranks.len().to_string())
        .current_dir(&plan.wdir)
        .stdin(if rank == 0 {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // SAFETY: the closure runs between fork and exec and calls only
    // async-signal-safe functions (prctl, fcntl) on values copied in.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The PMI socket must survive exec: clear its close-on-exec flag.
            if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = command.spawn()?;
    drop(pmi_fd);
    Ok(Started { child })
}

/// Sends `signal` to the rank's whole process group.
pub fn signal_group(pid: u32, signal: i32) {
    // SAFETY: killpg only sends a signal; a stale group id fails harmlessly.
    unsafe {
        libc::killpg(pid as libc::pid_t, signal);
    }
}

pub fn exit_of(status: ExitStatus) -> Exit {
    match (status.code(), status.signal()) {
        (Some(code), _) => Exit::Code(code),
        (None, Some(signal)) => Exit::Signal(signal),
        (None, None) => Exit::Code(1),
    }
}

/// Human name of a signal number, for messages.
pub fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGTERM => "SIGTERM",
        _ => "signal",
    }
}

impl Exit {
    /// The exit status a shell would show: the code, or 128 + signal.
    pub fn status_code(self) -> i32 {
        match self {
            Exit::Code(code) => code,
            Exit::Signal(signal) => 128 + signal,
        }
    }

    pub fn is_success(self) -> bool {
        self == Exit::Code(0)
    }

    /// "exited with code 3" / "was killed by signal 9 (SIGKILL)".
    pub fn describe(self) -> String {
        match self {
            Exit::Code(code) => format!("exited with code {code}"),
            Exit::Signal(signal) => {
                format!("was killed by signal {signal} ({})", signal_name(signal))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(program: &str) -> NodePlan {
        NodePlan {
            node: 0,
            host: "localhost".into(),
            ranks: vec![0],
            size: 1,
            program: program.into(),
            args: vec![],
            env: vec![("PATH".into(), "/usr/bin:/bin".into())],
            wdir: "/".into(),
            kvsname: "k".into(),
            preset: vec![],
        }
    }

    #[test]
    fn finds_programs_in_path_and_by_path() {
        assert!(check_program(&plan("sh")).is_ok());
        assert!(check_program(&plan("/bin/sh")).is_ok());
        assert!(check_program(&plan("bin/sh")).is_ok(), "relative to wdir /");
    }

    #[test]
    fn explains_missing_and_non_executable_programs() {
        assert!(check_program(&plan("no-such-program-xyz"))
            .unwrap_err()
            .contains("not found in PATH"));
        assert!(check_program(&plan("./nope"))
            .unwrap_err()
            .contains("does not exist"));
        let mut elsewhere = plan("sh");
        elsewhere.wdir = "/no/such/dir".into();
        assert!(check_program(&elsewhere)
            .unwrap_err()
            .contains("working directory /no/such/dir does not exist"));
        let plain = std::env::temp_dir().join(format!("bramble-plain-{}", std::process::id()));
        std::fs::write(&plain, "x").unwrap();
        let error = check_program(&plan(&plain.display().to_string())).unwrap_err();
        std::fs::remove_file(&plain).unwrap();
        assert!(error.contains("not executable"), "{error}");
    }

    #[test]
    fn exit_descriptions() {
        assert_eq!(Exit::Code(3).describe(), "exited with code 3");
        assert_eq!(
            Exit::Signal(9).describe(),
            "was killed by signal 9 (SIGKILL)"
        );
        assert_eq!(Exit::Signal(9).status_code(), 137);
    }
}
