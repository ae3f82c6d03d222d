//! The `bramble` command: a thin front-end over the launch and cluster crates.

mod cluster_args;
mod mpiexec_args;
mod run_args;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Launch parallel jobs and manage a cluster of small Linux boxes.
#[derive(Parser)]
#[command(name = "bramble", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run N copies of a program as one parallel job (an mpiexec replacement).
    Run(Box<run_args::RunArgs>),
    /// Internal: the per-node proxy the launcher starts on every host.
    #[command(hide = true)]
    Proxy,
    #[command(flatten)]
    Cluster(cluster_args::ClusterCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(mpiexec_args::normalize(std::env::args().collect()));
    let code = match cli.command {
        Command::Run(args) => match args.into_spec().and_then(|spec| bramble_launch::run(&spec)) {
            Ok(code) => code,
            Err(message) => {
                eprintln!("bramble: {message}");
                2
            }
        },
        Command::Proxy => bramble_launch::proxy::serve(),
        Command::Cluster(command) => command.run(),
    };
    ExitCode::from(u8::try_from(code.clamp(0, 255)).unwrap_or(1))
}
