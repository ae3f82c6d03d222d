//! `bramble shutdown` and `bramble reboot`: every host at once, after asking.
//!
//! The command is started in the background after a second's delay, so the
//! ssh session ends cleanly before the host goes away (and a head that is in
//! the list reaches every other host first).

use std::io::{BufRead, IsTerminal, Write};

use crate::{Cluster, SUDO};

/// What to do to the hosts.
#[derive(Debug, Clone, Copy)]
pub enum Action {
    Shutdown,
    Reboot,
}

impl Action {
    fn verb(self) -> &'static str {
        match self {
            Action::Shutdown => "shut down",
            Action::Reboot => "reboot",
        }
    }

    fn command(self) -> &'static str {
        match self {
            Action::Shutdown => "shutdown -h now",
            Action::Reboot => "reboot",
        }
    }
}

/// Asks (unless `yes`), then acts; `Ok(false)` when a host could not be told.
pub fn run(cluster: &Cluster, action: Action, yes: bool) -> Result<bool, String> {
    let names = cluster.names();
    if !yes && !confirm(action, &names)? {
        println!("nothing done");
        return Ok(true);
    }
    let script = format!(
        "{SUDO}$S true || {{ echo 'needs root or password-less sudo' >&2; exit 1; }}\n\
         nohup sh -c \"sleep 1; $S {}\" >/dev/null 2>&1 &\n",
        action.command()
    );
    let results = bramble_remote::ssh::parallel(&names, |host| {
        let output = cluster.ssh.run(host, &script, None);
        match output.failure() {
            None => println!("{host}: going to {}", action.verb()),
            Some(failure) => println!("{host}: FAILED: {}", failure.explain(host)),
        }
        output.success()
    });
    Ok(results.iter().all(|ok| *ok))
}

/// Asks on the terminal; refuses when there is none.
fn confirm(action: Action, names: &[String]) -> Result<bool, String> {
    if !std::io::stdin().is_terminal() {
        return Err(format!(
            "refusing to {} {} host(s) without confirmation: no terminal to ask on; add --yes",
            action.verb(),
            names.len()
        ));
    }
    print!("{} {}? [y/N] ", action.verb(), names.join(", "));
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| format!("cannot read the answer: {e}"))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
