//! How a testbed is described before it is built: host count, names, keys,
//! name resolution, link shaping, and what root's login looks like.

use crate::error::Result;
use crate::Testbed;

/// Which SSH keys exist when the testbed starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyMode {
    /// Every host shares one client key (`/root/.ssh/id_ed25519`), authorized
    /// on every host, and every host's `known_hosts` lists every host by name
    /// and address: `ssh -o BatchMode=yes nodeN` works from anywhere.
    Installed,
    /// Bare hosts: only sshd with its host key; `/root/.ssh` is empty.
    None,
}

/// sshd's `PermitRootLogin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootLogin {
    /// `yes`: root may log in with a key or (if enabled) a password.
    Yes,
    /// `prohibit-password`: keys only.
    ProhibitPassword,
}

/// Describes a testbed; [`Builder::build`] makes it. Start from
/// [`Testbed::builder`].
pub struct Builder {
    pub(crate) hosts: usize,
    pub(crate) names: Box<dyn Fn(usize) -> String>,
    pub(crate) keys: KeyMode,
    pub(crate) etc_hosts: bool,
    pub(crate) shape: Option<String>,
    pub(crate) root_password: Option<String>,
    pub(crate) root_login: RootLogin,
    pub(crate) empty_usr_local_bin: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            hosts: 2,
            names: Box::new(|i| format!("node{i}")),
            keys: KeyMode::Installed,
            etc_hosts: true,
            shape: None,
            root_password: None,
            root_login: RootLogin::Yes,
            empty_usr_local_bin: false,
        }
    }
}

impl Builder {
    /// Number of hosts (default 2, at most 200).
    pub fn hosts(mut self, count: usize) -> Self {
        self.hosts = count;
        self
    }

    /// Host `i`'s hostname (default `node{i}`).
    pub fn names(mut self, name: impl Fn(usize) -> String + 'static) -> Self {
        self.names = Box::new(name);
        self
    }

    /// Which SSH keys exist at the start (default [`KeyMode::Installed`]).
    pub fn keys(mut self, keys: KeyMode) -> Self {
        self.keys = keys;
        self
    }

    /// With `true` (default) every host's `/etc/hosts` lists all hosts; with
    /// `false` it holds only `localhost`, as on freshly flashed boxes.
    pub fn etc_hosts(mut self, listed: bool) -> Self {
        self.etc_hosts = listed;
        self
    }

    /// Limit every host's link to this rate in both directions, in `tc`
    /// units such as `"1gbit"` or `"100mbit"` (default: unlimited).
    pub fn shape(mut self, rate: Option<&str>) -> Self {
        self.shape = rate.map(String::from);
        self
    }

    /// Give root this password inside every host (a private `/etc/shadow`)
    /// and enable sshd's password authentication, for first-login tests.
    pub fn root_password(mut self, password: &str) -> Self {
        self.root_password = Some(password.to_string());
        self
    }

    /// sshd's `PermitRootLogin` (default [`RootLogin::Yes`]).
    pub fn root_login(mut self, login: RootLogin) -> Self {
        self.root_login = login;
        self
    }

    /// Mount an empty private `/usr/local/bin` on every host, so installing
    /// programs there is visible only inside that host.
    pub fn empty_usr_local_bin(mut self, empty: bool) -> Self {
        self.empty_usr_local_bin = empty;
        self
    }

    /// Hosts as a user's Pis are after flashing (or cloning) their SD cards:
    /// all named `raspberrypi`, no SSH keys, no other host in `/etc/hosts`,
    /// root's password `raspberry`, nothing installed in `/usr/local/bin`.
    pub fn freshly_flashed(self) -> Self {
        self.names(|_| "raspberrypi".to_string())
            .keys(KeyMode::None)
            .etc_hosts(false)
            .root_password("raspberry")
            .empty_usr_local_bin(true)
    }

    /// Builds the testbed, or says why it cannot be built.
    pub fn build(self) -> Result<Testbed> {
        Testbed::build(self)
    }
}
