//! The cluster commands end to end, on testbed hosts that have only sshd:
//! `bramble` runs on host 0 as the head node.

use std::process::{Command, Output};

use bramble_testbed::{Host, KeyMode, Testbed};

/// `bramble ARGS` on the head, in the testbed's directory.
fn bramble(bed: &Testbed, args: &[&str]) -> Command {
    let mut command = bed.host(0).command(env!("CARGO_BIN_EXE_bramble"));
    command
        .args(args)
        .current_dir(bed.dir())
        .env("HOME", "/root")
        .env_remove("BRAMBLE_SSH");
    command
}

fn run(mut command: Command) -> (i32, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("run bramble");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&stdout),
        String::from_utf8_lossy(&stderr)
    );
    (status.code().unwrap_or(-1), text)
}

fn shell(host: &Host, script: &str) -> String {
    let output = host.shell(script).expect("run on host");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

#[test]
fn setup_from_cloned_cards_renames_and_a_second_run_changes_nothing() {
    let bed = Testbed::builder()
        .hosts(3)
        .freshly_flashed()
        .build()
        .expect("build the testbed");
    let addresses: Vec<String> = bed
        .hosts()
        .iter()
        .map(|h| h.address().to_string())
        .collect();
    let mut args = vec!["setup", "--rename", "pinode{:02}"];
    args.extend(addresses.iter().map(String::as_str));

    // Without --rename, the duplicate names stop setup before it changes names.
    let mut plain_args = vec!["setup"];
    plain_args.extend(addresses.iter().map(String::as_str));
    let mut plain = bramble(&bed, &plain_args);
    plain.env("BRAMBLE_SSH", "sshpass -p raspberry ssh");
    let (code, text) = run(plain);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("are both named \"raspberrypi\""), "{text}");

    let mut first = bramble(&bed, &args);
    first.env("BRAMBLE_SSH", "sshpass -p raspberry ssh");
    let (code, text) = run(first);
    assert_eq!(code, 0, "{text}");
    for (i, host) in bed.hosts().iter().enumerate() {
        let name = format!("pinode{:02}", i + 1);
        assert_eq!(shell(host, "hostname"), name);
        assert_eq!(host.read_file("/etc/hostname").unwrap().trim(), name);
        let hosts = host.read_file("/etc/hosts").unwrap();
        assert!(hosts.contains("# BEGIN bramble"), "{hosts}");
        assert!(
            hosts.contains(&format!("{}\tpinode03", addresses[2])),
            "{hosts}"
        );
        assert_eq!(
            shell(host, "/usr/local/bin/bramble --version"),
            "bramble 0.1.0"
        );
    }
    let hostfile = std::fs::read_to_string(bed.dir().join("hostfile")).unwrap();
    assert!(
        hostfile.ends_with("pinode01:1\npinode02:1\npinode03:1\n"),
        "{hostfile}"
    );

    // Keys work without a password now, by the new names.
    let ssh = bed
        .host(0)
        .command("ssh")
        .args(["-o", "BatchMode=yes", "pinode03", "hostname"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&ssh.stdout).trim(), "pinode03");

    let (code, text) = run(bramble(
        &bed,
        &["setup", "-f", "hostfile", "--rename", "pinode{:02}"],
    ));
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("nothing changed"), "{text}");

    let (code, text) = run(bramble(&bed, &["doctor"]));
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("all 3 hosts look healthy"), "{text}");
}

/// Three hosts with keys, bramble installed by setup, doctor healthy.
fn healthy_bed(hosts: usize) -> Testbed {
    let bed = Testbed::builder()
        .hosts(hosts)
        .keys(KeyMode::Installed)
        .empty_usr_local_bin(true)
        .build()
        .expect("build the testbed");
    let names: Vec<String> = bed.hosts().iter().map(|h| h.name().to_string()).collect();
    let mut args = vec!["setup"];
    args.extend(names.iter().map(String::as_str));
    let (code, text) = run(bramble(&bed, &args));
    assert_eq!(code, 0, "{text}");
    let (code, text) = run(bramble(&bed, &["doctor"]));
    assert_eq!(code, 0, "{text}");
    bed
}

#[test]
fn doctor_finds_each_injected_fault() {
    let bed = healthy_bed(4);
    let (code, text) = run(bramble(&bed, &["doctor", "--program", "/bin/sh"]));
    assert_eq!(code, 0, "{text}");

    // Two nodes with one name.
    shell(bed.host(2), "hostname node1; echo node1 > /etc/hostname");
    // A wrong /etc/hosts entry on node1 for node2.
    let right = format!("{}\tnode2", bed.host(2).address());
    let hosts = bed.host(1).read_file("/etc/hosts").unwrap();
    assert!(hosts.contains(&right), "{hosts}");
    let wrong = hosts.replace(&right, "10.213.0.99\tnode2");
    bed.host(1).write_file("/etc/hosts", wrong).unwrap();
    // Key gone from node3.
    shell(bed.host(3), "rm /root/.ssh/authorized_keys");
    // Another bramble on node2.
    bed.host(2)
        .write_file("/usr/local/bin/bramble", "#!/bin/sh\necho bramble 0.0.1\n")
        .unwrap();
    // Debian's loopback line for the head's own name.
    let hosts = bed.host(0).read_file("/etc/hosts").unwrap();
    bed.host(0)
        .write_file("/etc/hosts", format!("127.0.1.1\tnode0\n{hosts}"))
        .unwrap();

    let (code, text) = run(bramble(&bed, &["doctor", "--program", "/opt/missing/prog"]));
    assert_eq!(code, 1, "{text}");
    for expected in [
        "node1 and node2 all call themselves \"node1\"",
        "on node1, node2 resolves to",
        "node3: permission denied",
        "has \"bramble 0.0.1\"",
        "own name node0 resolves to 127.0.1.1",
        "/opt/missing/prog is missing",
    ] {
        assert!(
            text.contains(expected),
            "doctor missed {expected:?}:\n{text}"
        );
    }
}

#[test]
fn exec_copy_status_and_power_guard() {
    let bed = healthy_bed(3);
    let (code, text) = run(bramble(
        &bed,
        &["exec", "--", "echo", "I am", "$(hostname)"],
    ));
    assert_eq!(code, 0, "{text}");
    for i in 0..3 {
        assert!(text.contains(&format!("node{i}: I am node{i}\n")), "{text}");
    }
    let (code, text) = run(bramble(&bed, &["exec", "--", "test $(hostname) != node2"]));
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("2 ok, 1 failed") && text.contains("node2: exit 1"),
        "{text}"
    );

    let source = bed.dir().join("job.sh");
    std::fs::write(&source, "#!/bin/sh\necho job\n").unwrap();
    let executable = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(&source, executable).unwrap();
    let (code, text) = run(bramble(&bed, &["copy", "job.sh", "/root/.ssh/"]));
    assert_eq!(code, 0, "{text}");
    for host in bed.hosts() {
        assert_eq!(shell(host, "/root/.ssh/job.sh"), "job");
    }
    let (code, text) = run(bramble(&bed, &["copy", "missing.sh", "/root/.ssh/"]));
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("cannot read missing.sh"), "{text}");

    let (code, text) = run(bramble(&bed, &["status"]));
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("HOST") && text.contains("bramble 0.1.0"),
        "{text}"
    );
    bed.host(2).link_down().unwrap();
    let (code, text) = run(bramble(&bed, &["status"]));
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("node2  DOWN") && text.contains("1 of 3 hosts down"),
        "{text}"
    );
    bed.host(2).link_up().unwrap();

    let (code, text) = run(bramble(&bed, &["reboot"]));
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("refusing to reboot 3 host(s)"), "{text}");
}

#[test]
fn bad_input_gets_a_clear_error() {
    let bed = Testbed::builder()
        .hosts(1)
        .build()
        .expect("build the testbed");
    let cases: [(&[&str], &str); 4] = [
        (
            &["setup", "node0", "--rename", "pinode"],
            "no {} placeholder",
        ),
        (&["setup", "node0:0"], "at least 1"),
        (&["status"], "no ./hostfile here"),
        (
            &["exec", "-f", "bad", "--", "true"],
            "bad:2: \"a b\" contains a space",
        ),
    ];
    std::fs::write(bed.dir().join("bad"), "node0\na b\n").unwrap();
    for (args, expected) in cases {
        let (code, text) = run(bramble(&bed, args));
        assert_eq!(code, 2, "{args:?}: {text}");
        assert!(text.contains(expected), "{args:?}: {text}");
    }
}
