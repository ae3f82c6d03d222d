//! bramble-remote against real sshds on the testbed.

use bramble_remote::{Failure, Ssh};
use bramble_testbed::{KeyMode, Testbed};

/// Runs `ssh`'s command for `host` on testbed host 0 (the head node).
fn on_head(bed: &Testbed, command: std::process::Command) -> bramble_remote::HostOutput {
    let mut head = bed.host(0).command(command.get_program());
    head.args(command.get_args());
    bramble_remote::HostOutput::collect("", head, None, "ssh")
}

#[test]
fn argv_arrives_intact_and_failures_are_classified() {
    let bed = Testbed::builder()
        .hosts(3)
        .build()
        .expect("build the testbed");
    let ssh = Ssh::new(Some("ssh")).unwrap().connect_timeout(2);

    let argv = ["printf", "%s|", "a b", "it's", "$HOME", "*"];
    let out = on_head(&bed, ssh.command("node1", &argv));
    assert!(out.success(), "{out:?}");
    assert_eq!(out.stdout, "a b|it's|$HOME|*|");

    let out = on_head(&bed, ssh.command("node2", &["no-such-program"]));
    assert_eq!(out.failure(), Some(Failure::CommandNotFound), "{out:?}");

    let out = on_head(&bed, ssh.command("node9", &["true"]));
    assert_eq!(out.failure(), Some(Failure::UnknownName), "{out:?}");

    bed.host(2).link_down().unwrap();
    let out = on_head(&bed, ssh.command("node2", &["true"]));
    assert_eq!(out.failure(), Some(Failure::Unreachable), "{out:?}");
    bed.host(2).link_up().unwrap();

    bed.host(1).shell("rm /root/.ssh/authorized_keys").unwrap();
    let out = on_head(&bed, ssh.command("node1", &["true"]));
    assert_eq!(out.failure(), Some(Failure::PermissionDenied), "{out:?}");

    let key = bed.host(2).read_file("/root/.ssh/known_hosts").unwrap();
    let wrong = key
        .replace("node1,", "node-old,")
        .replace("node2,", "node1,");
    bed.host(0)
        .write_file("/root/.ssh/known_hosts", wrong)
        .unwrap();
    let out = on_head(&bed, ssh.command("node1", &["true"]));
    assert_eq!(out.failure(), Some(Failure::HostKeyChanged), "{out:?}");
}

#[test]
fn refused_when_no_sshd_listens() {
    let bed = Testbed::builder()
        .hosts(2)
        .keys(KeyMode::Installed)
        .build()
        .expect("build the testbed");
    let ssh = Ssh::new(Some("ssh -p 2222")).unwrap().connect_timeout(2);
    let out = on_head(&bed, ssh.command("node1", &["true"]));
    assert_eq!(out.failure(), Some(Failure::Refused), "{out:?}");
}
