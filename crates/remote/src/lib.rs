//! How bramble reaches other hosts: MPICH-style hostfiles and remote commands
//! through the system's OpenSSH.
//!
//! - [`hostfile`]: `host:N` lines and `--hosts a,b:2` lists into [`HostSpec`]s.
//! - [`quote`]: shell-quoting an argv for the remote shell.
//! - [`ssh`]: the ssh command line, one host or many in parallel.
//! - [`failure`]: turning ssh's stderr into a message that says what to do.

pub mod failure;
pub mod hostfile;
pub mod quote;
pub mod ssh;

pub use failure::Failure;
pub use hostfile::{parse_host_list, parse_hostfile, HostSpec, HostfileError};
pub use ssh::{HostOutput, Ssh};
