//! One host's private files and its sshd: the per-host directory that backs
//! the bind mounts, the server's configuration and keys, and the holder
//! process that sets up the UTS and mount namespaces and becomes sshd.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::builder::{Builder, RootLogin};
use crate::error::{err, Result};
use crate::net::run;

/// Sets up the namespaces and execs sshd, so sshd's pid holds them.
/// Arguments: `$1` hostname, `$2` the host's directory.
const HOLDER_SCRIPT: &str = r#"set -e
hostname "$1"
mount --bind "$2/hostname" /etc/hostname
mount --bind "$2/hosts" /etc/hosts
mount --bind "$2/ssh" /root/.ssh
if [ -f "$2/shadow" ]; then mount --bind "$2/shadow" /etc/shadow; fi
if [ -d "$2/usr-local-bin" ]; then mount --bind "$2/usr-local-bin" /usr/local/bin; fi
exec /usr/sbin/sshd -D -e -f "$2/sshd_config"
"#;

/// Where a host's private files live, outside its namespaces.
pub(crate) struct HostFiles {
    pub dir: PathBuf,
}

impl HostFiles {
    pub fn ssh_dir(&self) -> PathBuf {
        self.dir.join("ssh")
    }

    fn pid_file(&self) -> PathBuf {
        self.dir.join("sshd.pid")
    }

    fn log_file(&self) -> PathBuf {
        self.dir.join("sshd.log")
    }

    /// The public host key line, `ssh-ed25519 AAAA...`, for `known_hosts`.
    pub fn host_key(&self) -> Result<String> {
        let path = self.dir.join("ssh_host_ed25519_key.pub");
        let text = read(&path)?;
        let fields: Vec<&str> = text.split_whitespace().take(2).collect();
        Ok(fields.join(" "))
    }
}

/// Writes a host's directory: hostname, hosts, an empty `.ssh`, sshd's
/// config and host key, and the optional shadow and `/usr/local/bin`.
pub(crate) fn prepare(
    files: &HostFiles,
    name: &str,
    address: &str,
    hosts_file: &str,
    shadow: Option<&str>,
    spec: &Builder,
) -> Result<()> {
    fs::create_dir_all(files.ssh_dir()).map_err(|e| io_err(&files.ssh_dir(), e))?;
    write(&files.dir.join("hostname"), &format!("{name}\n"))?;
    write(&files.dir.join("hosts"), hosts_file)?;
    if let Some(shadow) = shadow {
        write(&files.dir.join("shadow"), shadow)?;
    }
    if spec.empty_usr_local_bin {
        let bin = files.dir.join("usr-local-bin");
        fs::create_dir_all(&bin).map_err(|e| io_err(&bin, e))?;
    }
    let key = files.dir.join("ssh_host_ed25519_key");
    keygen(&key)?;
    let root_login = match spec.root_login {
        RootLogin::Yes => "yes",
        RootLogin::ProhibitPassword => "prohibit-password",
    };
    let passwords = if spec.root_password.is_some() {
        "yes"
    } else {
        "no"
    };
    let config = format!(
        "ListenAddress {address}\n\
         Port 22\n\
         HostKey {key}\n\
         PidFile {pid}\n\
         PermitRootLogin {root_login}\n\
         PasswordAuthentication {passwords}\n\
         KbdInteractiveAuthentication no\n\
         UsePAM no\n\
         StrictModes no\n\
         AuthorizedKeysFile .ssh/authorized_keys\n\
         PrintMotd no\n\
         MaxStartups 200\n\
         MaxSessions 200\n\
         Subsystem sftp /usr/lib/openssh/sftp-server\n",
        key = key.display(),
        pid = files.pid_file().display(),
    );
    write(&files.dir.join("sshd_config"), &config)
}

/// Starts the holder in network namespace `ns` and waits until sshd listens.
/// Returns the child and sshd's pid.
pub(crate) fn start(files: &HostFiles, ns: &str, name: &str) -> Result<(Child, i32)> {
    let log = fs::File::create(files.log_file()).map_err(|e| io_err(&files.log_file(), e))?;
    let log_too = log.try_clone().map_err(|e| io_err(&files.log_file(), e))?;
    let dir = files.dir.to_string_lossy().into_owned();
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns, "unshare", "--uts", "--mount"])
        .args(["--propagation", "private", "sh", "-c", HOLDER_SCRIPT])
        .args(["holder", name, &dir])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_too)
        .spawn()
        .map_err(|e| err(format!("cannot start sshd for {name}: {e}")))?;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(pid) = fs::read_to_string(files.pid_file())
            .ok()
            .and_then(|text| text.trim().parse::<i32>().ok())
        {
            return Ok((child, pid));
        }
        let exited = child.try_wait().ok().flatten();
        if exited.is_some() || Instant::now() > deadline {
            // Reap it so no zombie outlives the failed build.
            let _ = child.kill();
            let _ = child.wait();
            let log = fs::read_to_string(files.log_file()).unwrap_or_default();
            let why = match exited {
                Some(status) => format!("exited ({status})"),
                None => "did not start listening within 15 s".to_string(),
            };
            return Err(err(format!("sshd for {name} {why}; its log:\n{log}")));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Makes an ed25519 key pair without passphrase at `path` (and `path.pub`).
pub(crate) fn keygen(path: &Path) -> Result<()> {
    let path = path.to_string_lossy();
    run(
        "ssh-keygen",
        &["-q", "-t", "ed25519", "-N", "", "-C", "", "-f", &path],
    )
    .map(drop)
}

/// `/etc/shadow` with root's password replaced by a hash of `password`.
pub(crate) fn shadow_with_root_password(password: &str) -> Result<String> {
    let hash = run("openssl", &["passwd", "-6", password])?;
    let hash = hash.trim();
    let shadow = read(Path::new("/etc/shadow"))?;
    let mut found = false;
    let lines: Vec<String> = shadow
        .lines()
        .map(|line| {
            let mut fields: Vec<&str> = line.split(':').collect();
            if fields.first() == Some(&"root") && fields.len() > 2 {
                found = true;
                fields[1] = hash;
            }
            fields.join(":")
        })
        .collect();
    if !found {
        return Err(err("/etc/shadow has no root line to set a password on"));
    }
    Ok(lines.join("\n") + "\n")
}

pub(crate) fn write(path: &Path, contents: &str) -> Result<()> {
    fs::write(path, contents).map_err(|e| io_err(path, e))
}

pub(crate) fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|e| io_err(path, e))
}

pub(crate) fn io_err(path: &Path, e: std::io::Error) -> crate::Error {
    err(format!("{}: {e}", path.display()))
}
