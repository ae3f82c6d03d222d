//! Multi-host test bed: real hosts, one machine. Each host is a Linux network,
//! UTS and mount namespace running a real OpenSSH server, so launcher and
//! cluster-management tests see what they would see on a rack of Pis.
//!
//! ```no_run
//! use bramble_testbed::{KeyMode, Testbed};
//!
//! let bed = Testbed::builder()
//!     .hosts(3)
//!     .names(|i| format!("node{i}"))
//!     .keys(KeyMode::Installed)
//!     .etc_hosts(true)
//!     .build()
//!     .expect("testbed");
//! let out = bed.host(0).command("ssh").args(["node2", "hostname"]).output().unwrap();
//! assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "node2");
//! ```
//!
//! # What a host is
//!
//! - its own network namespace with `lo` and `eth0`, address `10.213.X.(i+1)/24`
//!   (`X` chosen per testbed), wired by a veth pair to a bridge living in a
//!   namespace of its own. Nothing is routed to or from the real machine.
//! - its own hostname (UTS namespace) and private bind mounts (mount
//!   namespace) of `/etc/hostname`, `/etc/hosts`, `/root/.ssh`, optionally
//!   `/etc/shadow` (a root password that exists only inside) and an empty
//!   `/usr/local/bin`. The real files behind them live in [`Host::dir`].
//! - `/usr/sbin/sshd -D` listening on the host's address, port 22. That
//!   process holds the namespaces: [`Host::command`] runs a program inside
//!   them through `nsenter`, as if logged in on that host.
//!
//! # Lifetime
//!
//! Dropping the [`Testbed`] (also while a test panics) kills every process in
//! its hosts' network namespaces, deletes the namespaces and removes its
//! temporary directory. Building a testbed first sweeps leftovers of testbeds
//! whose process died without cleaning up. Namespace names carry the owning
//! pid and a counter, so tests in parallel get separate testbeds.
//!
//! # Requirements
//!
//! Root, `ip` and `tc` (iproute2), `unshare`/`nsenter` (util-linux), OpenSSH
//! server and client, and `openssl` for [`Builder::root_password`]. A testbed
//! that cannot be built fails with the reason; it never skips silently.

mod builder;
mod error;
mod host;
mod net;
mod sshd;
mod sweep;
mod testbed;

pub use builder::{Builder, KeyMode, RootLogin};
pub use error::Error;
pub use host::Host;
pub use testbed::Testbed;
