//! A handle on one testbed host: its name and address, running programs on
//! it, its private files, and its network cable.

use std::io::Write;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::error::{err, Result};
use crate::net::set_port;

/// One host of a [`Testbed`](crate::Testbed).
#[derive(Debug)]
pub struct Host {
    pub(crate) name: String,
    pub(crate) address: Ipv4Addr,
    pub(crate) ns: String,
    pub(crate) bridge_ns: String,
    pub(crate) port: String,
    pub(crate) dir: PathBuf,
    pub(crate) pid: i32,
}

impl Host {
    /// The hostname it was started with (`hostname` may change it later).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its address on the testbed's private subnet.
    pub fn address(&self) -> Ipv4Addr {
        self.address
    }

    /// The name of its network namespace (for `ip -n`).
    pub fn netns(&self) -> &str {
        &self.ns
    }

    /// The pid of its sshd, which holds its namespaces.
    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The directory behind its private mounts: `hostname`, `hosts`, `ssh/`
    /// (its `/root/.ssh`), `shadow`, `usr-local-bin/`, plus `sshd.log`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A command that runs `program` on this host (in its network, UTS and
    /// mount namespaces, through `nsenter`). Add arguments, environment and
    /// stdio as with any [`Command`]; its `current_dir` (default: ours) is
    /// kept inside the host.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new("nsenter");
        command
            .args(["-t", &self.pid.to_string(), "-n", "-u", "-m"])
            // Without it, entering the mount namespace would move the
            // program to `/`; `.` is opened before entering, so it is the
            // command's own `current_dir`.
            .args(["--wd=.", "--"])
            .arg(program);
        command
    }

    /// Runs `script` with `sh -c` on this host and returns its output
    /// whatever its exit status.
    pub fn shell(&self, script: &str) -> Result<Output> {
        self.command("sh")
            .args(["-c", script])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| err(format!("cannot run nsenter on {}: {e}", self.name)))
    }

    /// Writes `contents` to `path` as this host sees it (so a path under a
    /// private mount changes only this host).
    pub fn write_file(&self, path: &str, contents: impl AsRef<[u8]>) -> Result<()> {
        let mut child = self
            .command("sh")
            .args(["-c", "cat > \"$1\"", "sh", path])
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| err(format!("cannot run nsenter on {}: {e}", self.name)))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(contents.as_ref())
                .map_err(|e| err(format!("writing {path} on {}: {e}", self.name)))?;
        }
        let output = child
            .wait_with_output()
            .map_err(|e| err(format!("writing {path} on {}: {e}", self.name)))?;
        if !output.status.success() {
            return Err(err(format!(
                "cannot write {path} on {}: {}",
                self.name,
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        Ok(())
    }

    /// Reads `path` as this host sees it.
    pub fn read_file(&self, path: &str) -> Result<String> {
        let output = self
            .command("cat")
            .arg(path)
            .output()
            .map_err(|e| err(format!("cannot run nsenter on {}: {e}", self.name)))?;
        if !output.status.success() {
            return Err(err(format!(
                "cannot read {path} on {}: {}",
                self.name,
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Unplugs its cable: its bridge port goes down, so traffic to and from
    /// it is lost as with a crashed or disconnected node.
    pub fn link_down(&self) -> Result<()> {
        set_port(&self.bridge_ns, &self.port, false)
    }

    /// Plugs its cable back in.
    pub fn link_up(&self) -> Result<()> {
        set_port(&self.bridge_ns, &self.port, true)
    }
}
