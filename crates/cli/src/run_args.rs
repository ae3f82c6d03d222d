//! The options of `bramble run`, and how they become a job.

use std::path::Path;

use bramble_launch::JobSpec;
use bramble_remote::{parse_host_list, parse_hostfile, HostSpec, Ssh};
use clap::Args;

/// `bramble run [OPTIONS] [--] PROGRAM [ARGS...]`
#[derive(Args, Debug)]
#[command(after_help = "mpiexec spellings work too: -np, -hostfile, -hosts, -ppn, -genv, -wdir.")]
pub struct RunArgs {
    /// Number of ranks (default: the hosts' slots, or 1).
    #[arg(short = 'n', value_name = "N")]
    pub ranks: Option<usize>,
    /// Prefix every output line with [RANK].
    #[arg(short = 'l', long)]
    pub label: bool,
    /// Hostfile: one host per line, `host:N` for N slots, `#` comments.
    #[arg(short = 'f', long = "hostfile", value_name = "FILE")]
    pub hostfile: Option<String>,
    /// Comma-separated hosts, e.g. `a,b:2,c`.
    #[arg(long, value_name = "LIST")]
    pub hosts: Option<String>,
    /// Ranks per host, overriding the slots.
    #[arg(long, value_name = "K")]
    pub ppn: Option<usize>,
    /// Set K=V in every rank's environment (repeatable).
    #[arg(long = "env", value_name = "K=V")]
    pub env: Vec<String>,
    /// Set K to V in every rank's environment (mpiexec's -genv; repeatable).
    #[arg(long = "genv", num_args = 2, value_names = ["K", "V"])]
    pub genv: Vec<String>,
    /// Working directory of every rank (default: the current one).
    #[arg(long, value_name = "DIR")]
    pub wdir: Option<String>,
    /// The ssh command for remote hosts (default: $BRAMBLE_SSH, else ssh).
    #[arg(long, value_name = "CMD")]
    pub ssh: Option<String>,
    /// The program and its arguments.
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "PROGRAM"
    )]
    pub command: Vec<String>,
}

impl RunArgs {
    pub fn into_spec(self) -> Result<JobSpec, String> {
        let (program, args) = self
            .command
            .split_first()
            .ok_or_else(|| "no program given: bramble run -n 4 PROGRAM".to_string())?;
        let mut env = Vec::new();
        for pair in &self.env {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("--env takes K=V, got {pair:?}"))?;
            if key.is_empty() {
                return Err(format!("--env takes K=V with a non-empty K, got {pair:?}"));
            }
            env.push((key.to_string(), value.to_string()));
        }
        for pair in self.genv.chunks(2) {
            if let [key, value] = pair {
                env.push((key.clone(), value.clone()));
            }
        }
        let hosts = self.hosts()?;
        let slots: usize = hosts.iter().map(|host| host.slots).sum();
        Ok(JobSpec {
            ranks: self.ranks.unwrap_or(slots.max(1)),
            hosts,
            program: program.clone(),
            args: args.to_vec(),
            env,
            wdir: self.wdir,
            label: self.label,
            ssh: Ssh::new(self.ssh.as_deref())?,
        })
    }

    /// The hosts from `--hostfile` or `--hosts`, with `--ppn` slots each if
    /// given; empty means this host only (unless `--ppn` sizes it).
    fn hosts(&self) -> Result<Vec<HostSpec>, String> {
        let mut hosts = match (&self.hostfile, &self.hosts) {
            (Some(_), Some(_)) => {
                return Err("give either a hostfile (-f) or --hosts, not both".to_string())
            }
            (Some(path), None) => parse_hostfile(Path::new(path)).map_err(|e| e.to_string())?,
            (None, Some(list)) => parse_host_list(list).map_err(|e| e.to_string())?,
            (None, None) => Vec::new(),
        };
        match self.ppn {
            Some(0) => Err("--ppn takes at least 1 rank per host".to_string()),
            Some(per_host) if hosts.is_empty() => Ok(vec![HostSpec {
                name: "localhost".to_string(),
                slots: per_host,
            }]),
            Some(per_host) => {
                hosts.iter_mut().for_each(|host| host.slots = per_host);
                Ok(hosts)
            }
            None => Ok(hosts),
        }
    }
}
