//! Cluster management: the commands that replace the manual steps of building
//! a Raspberry Pi cluster (copying keys, renaming hosts, editing /etc/hosts,
//! writing the hostfile) and of keeping it healthy, all safe to re-run.
//!
//! - [`setup`]: from freshly flashed boxes to a working bramble.
//! - [`doctor`]: what is wrong, on which host, and how to fix it.
//! - [`exec`], [`copy`]: run a command / send files everywhere.
//! - [`status`]: one line per host: up, load, memory, disk, temperature.
//! - [`power`]: shut down or reboot every host.
//!
//! Every command works on a [`Cluster`]: the hosts (from arguments or a
//! hostfile, see [`targets`]) and how to reach them.

pub mod copy;
pub mod doctor;
pub mod etc_hosts;
pub mod exec;
pub mod facts;
pub mod power;
pub mod rename;
pub mod setup;
pub mod status;
pub mod table;
pub mod targets;

use bramble_remote::{HostSpec, Ssh};

/// This build's version line, as `bramble --version` prints it.
pub const VERSION_LINE: &str = concat!("bramble ", env!("CARGO_PKG_VERSION"));

/// Put before remote scripts that change system files: `$S` is empty for
/// root and `sudo -n` otherwise (a Pi's default user has password-less sudo).
pub(crate) const SUDO: &str = "S=; [ \"$(id -u)\" = 0 ] || S='sudo -n'\n";

/// The hosts a command works on and how to reach them.
pub struct Cluster {
    pub hosts: Vec<HostSpec>,
    pub ssh: Ssh,
}

impl Cluster {
    /// The host names, in order, each once.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for host in &self.hosts {
            if !names.contains(&host.name) {
                names.push(host.name.clone());
            }
        }
        names
    }
}
