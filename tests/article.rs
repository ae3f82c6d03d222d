//! The seed article, replayed with bramble commands only: three "Pis" cloned
//! from one SD card (all named `raspberrypi`, only sshd running, a root
//! password and no keys) become a working bramble, and a 6-rank hello greets
//! from every host.

mod common;

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use bramble_testbed::Testbed;
use common::{bramble, example, run};

const LIMIT: Duration = Duration::from_secs(120);

#[test]
fn from_bare_pis_to_a_bramble() {
    let bed = Testbed::builder()
        .hosts(3)
        .freshly_flashed()
        .build()
        .expect("build the testbed (needs root, iproute2, openssh-server, sshpass, openssl)");
    let head = bed.host(0);
    let on_head = |args: &[&str]| {
        let mut command: Command = head.command(bramble());
        command
            .args(args)
            .current_dir(bed.dir())
            .env("HOME", "/root");
        command
    };

    // "Copy your public key ... rename hosts ... write a hostfile": one command.
    // The password is typed once per Pi; sshpass types it here.
    let mut setup = on_head(&["setup", "--rename", "pinode{:02}"]);
    let addresses: Vec<String> = bed
        .hosts()
        .iter()
        .map(|h| h.address().to_string())
        .collect();
    setup
        .args(&addresses)
        .env("BRAMBLE_SSH", "sshpass -p raspberry ssh");
    run(setup, LIMIT).assert_success();

    // The doctor finds nothing wrong: no duplicate names, no router needed.
    run(on_head(&["doctor"]), LIMIT).assert_success();

    // "mpiexec --hostfile hostfile python3 helloworld.py", the bramble way.
    let hello = example("hello");
    let mut job = on_head(&["run", "-f", "hostfile", "-n", "6"]);
    job.arg(&hello);
    let result = run(job, LIMIT);
    result.assert_success();
    let greetings: BTreeSet<String> = result.stdout.lines().map(str::to_string).collect();
    let expected: BTreeSet<String> = (0..6)
        .map(|rank| {
            let host = rank % 3 + 1;
            format!("Hello, World! I am process {rank} of 6 on pinode{host:02}.")
        })
        .collect();
    assert_eq!(greetings, expected, "stderr:\n{}", result.stderr);
}
