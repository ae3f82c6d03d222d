//! The cluster-management subcommands (setup, doctor, exec, copy, status,
//! shutdown, reboot) and how their options become calls into bramble-cluster.

use std::path::PathBuf;

use bramble_cluster::power::Action;
use bramble_cluster::rename::Pattern;
use bramble_cluster::setup::SetupOptions;
use bramble_cluster::{targets, Cluster};
use bramble_remote::Ssh;
use clap::{Args, Subcommand};

#[derive(Subcommand, Debug)]
pub enum ClusterCommand {
    /// Prepare hosts from zero: key, names, /etc/hosts, bramble, hostfile.
    Setup(SetupArgs),
    /// Check every host and say what is wrong and how to fix it.
    Doctor(DoctorArgs),
    /// Run a command on every host: bramble exec -- uptime
    Exec(ExecArgs),
    /// Copy files to every host: bramble copy FILE... DEST
    Copy(CopyArgs),
    /// One line per host: up, load, memory, disk, temperature, bramble.
    Status(Reach),
    /// Shut down every host (asks first).
    Shutdown(PowerArgs),
    /// Reboot every host (asks first).
    Reboot(PowerArgs),
}

/// Which hosts, and how to reach them.
#[derive(Args, Debug)]
pub struct Reach {
    /// Hostfile: one host per line, host:N for N slots (default ./hostfile).
    #[arg(short = 'f', long = "hostfile", value_name = "FILE")]
    pub hostfile: Option<PathBuf>,
    /// The ssh command (default: $BRAMBLE_SSH, else ssh); called like ssh.
    #[arg(long, value_name = "CMD")]
    pub ssh: Option<String>,
    /// Log in as this user (default: as yourself).
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,
}

#[derive(Args, Debug)]
pub struct SetupArgs {
    /// Hosts (names or addresses, host:N for N slots); else -f or ./hostfile.
    #[arg(value_name = "HOST")]
    pub hosts: Vec<String>,
    #[command(flatten)]
    pub reach: Reach,
    /// Give hosts unique names in order from 1, e.g. 'pinode{:02}'.
    #[arg(long, value_name = "PATTERN")]
    pub rename: Option<String>,
    /// Where to write the hostfile.
    #[arg(long, value_name = "PATH", default_value = targets::DEFAULT_HOSTFILE)]
    pub hostfile_out: PathBuf,
}

#[derive(Args, Debug)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub reach: Reach,
    /// Also check that this program exists on every host.
    #[arg(long, value_name = "PATH")]
    pub program: Option<String>,
}

#[derive(Args, Debug)]
pub struct ExecArgs {
    #[command(flatten)]
    pub reach: Reach,
    /// The command, run by each host's shell.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Args, Debug)]
pub struct CopyArgs {
    #[command(flatten)]
    pub reach: Reach,
    /// Files to copy, then the destination (a directory for several files).
    #[arg(required = true, num_args = 2.., value_name = "FILE... DEST")]
    pub paths: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PowerArgs {
    #[command(flatten)]
    pub reach: Reach,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
}

impl Reach {
    fn cluster(&self, hosts: &[String]) -> Result<Cluster, String> {
        Ok(Cluster {
            hosts: targets::load(hosts, self.hostfile.as_deref())?,
            ssh: Ssh::new(self.ssh.as_deref())?.user(self.user.as_deref()),
        })
    }
}

impl ClusterCommand {
    /// Runs the command: exit status 0 when all is well, 1 when some host
    /// failed or something is wrong, 2 for errors before any host was asked.
    pub fn run(self) -> i32 {
        let result = match self {
            ClusterCommand::Setup(args) => setup(args),
            ClusterCommand::Doctor(args) => args
                .reach
                .cluster(&[])
                .and_then(|c| bramble_cluster::doctor::run(&c, args.program.as_deref())),
            ClusterCommand::Exec(args) => args
                .reach
                .cluster(&[])
                .and_then(|c| bramble_cluster::exec::run(&c, &args.command)),
            ClusterCommand::Copy(args) => {
                let (dest, files) = match args.paths.split_last() {
                    Some((dest, files)) => (
                        dest.clone(),
                        files.iter().map(PathBuf::from).collect::<Vec<_>>(),
                    ),
                    None => (String::new(), Vec::new()),
                };
                args.reach
                    .cluster(&[])
                    .and_then(|c| bramble_cluster::copy::run(&c, &files, &dest))
            }
            ClusterCommand::Status(reach) => reach
                .cluster(&[])
                .and_then(|c| bramble_cluster::status::run(&c)),
            ClusterCommand::Shutdown(args) => power(args, Action::Shutdown),
            ClusterCommand::Reboot(args) => power(args, Action::Reboot),
        };
        match result {
            Ok(true) => 0,
            Ok(false) => 1,
            Err(message) => {
                eprintln!("bramble: {message}");
                2
            }
        }
    }
}

fn setup(args: SetupArgs) -> Result<bool, String> {
    let cluster = args.reach.cluster(&args.hosts)?;
    let rename = args.rename.as_deref().map(Pattern::parse).transpose()?;
    let binary = std::env::current_exe()
        .map_err(|e| format!("cannot find the bramble binary itself: {e}"))?;
    bramble_cluster::setup::run(
        &cluster,
        &SetupOptions {
            rename,
            hostfile_out: args.hostfile_out,
            binary,
        },
    )
}

fn power(args: PowerArgs, action: Action) -> Result<bool, String> {
    let cluster = args.reach.cluster(&[])?;
    bramble_cluster::power::run(&cluster, action, args.yes)
}
