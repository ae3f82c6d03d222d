//! Building and tearing down a whole testbed.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::builder::{Builder, KeyMode};
use crate::error::{err, Result};
use crate::host::Host;
use crate::net;
use crate::sshd::{self, io_err, HostFiles};
use crate::sweep::{self, DIR_PREFIX, NS_PREFIX};

/// Counts testbeds within this process, so parallel tests get distinct names.
static NEXT: AtomicU32 = AtomicU32::new(0);

/// A set of namespaced hosts with real sshds, removed when dropped.
pub struct Testbed {
    hosts: Vec<Host>,
    holders: Vec<Child>,
    bridge_ns: Option<String>,
    dir: PathBuf,
}

impl Testbed {
    /// Starts describing a testbed (2 hosts `node0`, `node1`, keys installed,
    /// `/etc/hosts` filled, no shaping).
    pub fn builder() -> Builder {
        Builder::default()
    }

    pub(crate) fn build(spec: Builder) -> Result<Testbed> {
        preflight(&spec)?;
        sweep::sweep();
        let pid = std::process::id();
        let serial = NEXT.fetch_add(1, Ordering::Relaxed);
        let tag = format!("{pid}-{serial}");
        let dir = std::env::temp_dir().join(format!("{DIR_PREFIX}{tag}"));
        std::fs::create_dir_all(&dir).map_err(|e| io_err(&dir, e))?;
        // From here on, `bed`'s Drop undoes whatever part was built.
        let mut bed = Testbed {
            hosts: Vec::new(),
            holders: Vec::new(),
            bridge_ns: None,
            dir,
        };
        let bridge_ns = format!("{NS_PREFIX}{tag}-br");
        net::add_bridge(&bridge_ns)?;
        bed.bridge_ns = Some(bridge_ns.clone());

        // Subnets of different testbeds never meet (each bridge is in its own
        // namespace); distinct ones just make logs easier to tell apart.
        let subnet = (pid.wrapping_mul(31).wrapping_add(serial) % 200 + 20) as u8;
        let names: Vec<String> = (0..spec.hosts).map(|i| (spec.names)(i)).collect();
        let addresses: Vec<Ipv4Addr> = (0..spec.hosts)
            .map(|i| Ipv4Addr::new(10, 213, subnet, i as u8 + 1))
            .collect();
        let hosts_file = etc_hosts(&names, &addresses, spec.etc_hosts);
        let shadow = match &spec.root_password {
            Some(password) => Some(sshd::shadow_with_root_password(password)?),
            None => None,
        };
        std::fs::create_dir_all("/run/sshd").map_err(|e| io_err(Path::new("/run/sshd"), e))?;
        std::fs::create_dir_all("/root/.ssh").map_err(|e| io_err(Path::new("/root/.ssh"), e))?;

        let mut files = Vec::new();
        for (i, (name, address)) in names.iter().zip(&addresses).enumerate() {
            let host_files = HostFiles {
                dir: bed.dir.join(format!("h{i}")),
            };
            let address = address.to_string();
            sshd::prepare(
                &host_files,
                name,
                &address,
                &hosts_file,
                shadow.as_deref(),
                &spec,
            )?;
            let ns = format!("{NS_PREFIX}{tag}-h{i}");
            let port = format!("h{i}");
            net::add_host(&bridge_ns, &ns, &port, &address)?;
            // Register the namespace before anything else can fail, so Drop
            // deletes it.
            bed.hosts.push(Host {
                name: name.clone(),
                address: address.parse().map_err(|_| err("bad address"))?,
                ns: ns.clone(),
                bridge_ns: bridge_ns.clone(),
                port: port.clone(),
                dir: host_files.dir.clone(),
                pid: 0,
            });
            if let Some(rate) = &spec.shape {
                net::shape(&ns, "eth0", rate)?;
                net::shape(&bridge_ns, &port, rate)?;
            }
            files.push(host_files);
        }
        if spec.keys == KeyMode::Installed {
            install_keys(&bed.dir, &files, &names, &addresses)?;
        }
        for (i, host_files) in files.iter().enumerate() {
            let (child, pid) = sshd::start(host_files, &bed.hosts[i].ns, &names[i])?;
            bed.holders.push(child);
            bed.hosts[i].pid = pid;
        }
        Ok(bed)
    }

    /// Host `i`. Panics when `i` is out of range, like indexing.
    pub fn host(&self, i: usize) -> &Host {
        &self.hosts[i]
    }

    /// All hosts, in order.
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// The testbed's temporary directory (visible from every host too).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes an MPICH hostfile (`name:slots` lines) into the testbed's
    /// directory and returns its path.
    pub fn hostfile(&self, entries: &[(&str, usize)]) -> Result<PathBuf> {
        let text: String = entries
            .iter()
            .map(|(name, slots)| format!("{name}:{slots}\n"))
            .collect();
        let serial = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = self.dir.join(format!("hostfile-{serial}"));
        sshd::write(&path, &text)?;
        Ok(path)
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        for host in &self.hosts {
            net::destroy(&host.ns);
        }
        for holder in &mut self.holders {
            let _ = holder.kill();
            let _ = holder.wait();
        }
        if let Some(bridge_ns) = &self.bridge_ns {
            net::destroy(bridge_ns);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Fails with the reason when this machine cannot host a testbed.
fn preflight(spec: &Builder) -> Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(err(
            "must run as root (namespaces, bridges and bind mounts need it); run the tests with sudo",
        ));
    }
    if spec.hosts == 0 || spec.hosts > 200 {
        return Err(err(format!(
            "{} hosts asked for; a testbed has 1 to 200",
            spec.hosts
        )));
    }
    let mut needed = vec![
        ("/usr/sbin/sshd", "openssh-server"),
        ("ssh-keygen", "openssh-client"),
        ("ip", "iproute2"),
        ("nsenter", "util-linux"),
        ("unshare", "util-linux"),
    ];
    if spec.shape.is_some() {
        needed.push(("tc", "iproute2"));
    }
    if spec.root_password.is_some() {
        needed.push(("openssl", "openssl"));
    }
    for (program, package) in needed {
        if !on_path(program) {
            return Err(err(format!(
                "{program} not found; install the {package} package"
            )));
        }
    }
    Ok(())
}

fn on_path(program: &str) -> bool {
    if program.contains('/') {
        return Path::new(program).exists();
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .any(|dir| dir.join(program).exists())
}

/// The `/etc/hosts` every host starts with.
fn etc_hosts(names: &[String], addresses: &[Ipv4Addr], listed: bool) -> String {
    let mut text =
        String::from("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
    if listed {
        for (name, address) in names.iter().zip(addresses) {
            text.push_str(&format!("{address}\t{name}\n"));
        }
    }
    text
}

/// One client key for all hosts, authorized everywhere, and every host key
/// in every `known_hosts`.
fn install_keys(
    dir: &Path,
    files: &[HostFiles],
    names: &[String],
    addresses: &[Ipv4Addr],
) -> Result<()> {
    let key = dir.join("id_ed25519");
    sshd::keygen(&key)?;
    let public = sshd::read(&dir.join("id_ed25519.pub"))?;
    let mut known_hosts = String::new();
    for ((host_files, name), address) in files.iter().zip(names).zip(addresses) {
        known_hosts.push_str(&format!("{name},{address} {}\n", host_files.host_key()?));
    }
    for host_files in files {
        let ssh = host_files.ssh_dir();
        for file in ["id_ed25519", "id_ed25519.pub"] {
            std::fs::copy(dir.join(file), ssh.join(file)).map_err(|e| io_err(&ssh, e))?;
        }
        sshd::write(&ssh.join("authorized_keys"), &public)?;
        sshd::write(&ssh.join("known_hosts"), &known_hosts)?;
    }
    Ok(())
}
