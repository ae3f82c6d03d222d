//! The options of `bramble run`, and how they become a job.

use bramble_launch::bootstrap::default_ssh;
use bramble_launch::JobSpec;
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
        if self.hostfile.is_some() || self.hosts.is_some() || self.ppn.is_some() {
            return Err("hostfiles and --hosts are not available in this build yet".to_string());
        }
        let ssh = match self.ssh.or_else(|| std::env::var("BRAMBLE_SSH").ok()) {
            Some(command) => command.split_whitespace().map(String::from).collect(),
            None => default_ssh(),
        };
        Ok(JobSpec {
            ranks: self.ranks.unwrap_or(1),
            hosts: Vec::new(),
            program: program.clone(),
            args: args.to_vec(),
            env,
            wdir: self.wdir,
            label: self.label,
            ssh,
        })
    }
}
