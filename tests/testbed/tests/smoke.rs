//! The testbed itself: distinct hosts, ssh by name, lost links, clean teardown.

use std::process::Command;
use std::time::{Duration, Instant};

use bramble_testbed::{KeyMode, Testbed};

fn stdout(command: &mut Command) -> String {
    let output = command.output().expect("run a command on a host");
    assert!(output.status.success(), "{command:?} failed: {output:?}");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn ssh(bed: &Testbed, from: usize, to: &str) -> Command {
    let mut command = bed.host(from).command("ssh");
    command.args(["-o", "BatchMode=yes", "-o", "ConnectTimeout=2"]);
    command.args(["-o", "StrictHostKeyChecking=accept-new", to, "hostname"]);
    command
}

#[test]
fn three_hosts_talk_by_name_and_leave_nothing_behind() {
    let bed = Testbed::builder()
        .hosts(3)
        .names(|i| format!("node{i}"))
        .keys(KeyMode::Installed)
        .etc_hosts(true)
        .shape(Some("1gbit"))
        .build()
        .expect("build the testbed");
    let namespaces: Vec<String> = bed.hosts().iter().map(|h| h.netns().to_string()).collect();
    let pids: Vec<i32> = bed.hosts().iter().map(|h| h.pid()).collect();

    for (i, host) in bed.hosts().iter().enumerate() {
        assert_eq!(stdout(&mut host.command("hostname")), format!("node{i}"));
        assert_eq!(
            host.read_file("/etc/hostname").unwrap().trim(),
            format!("node{i}")
        );
    }
    assert_eq!(stdout(&mut ssh(&bed, 0, "node2")), "node2");

    bed.host(2).link_down().unwrap();
    let start = Instant::now();
    let output = ssh(&bed, 0, "node2").output().unwrap();
    assert!(
        !output.status.success(),
        "ssh to an unplugged host succeeded"
    );
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
    bed.host(2).link_up().unwrap();
    assert_eq!(stdout(&mut ssh(&bed, 1, "node2")), "node2");

    bed.host(1)
        .write_file("/root/.ssh/note", "private")
        .unwrap();
    assert!(bed.host(0).read_file("/root/.ssh/note").is_err());

    let dir = bed.dir().to_path_buf();
    drop(bed);
    assert_gone(&namespaces, &pids, &dir);
}

/// Fails when any of a dropped testbed's namespaces, sshds or files remain.
fn assert_gone(namespaces: &[String], pids: &[i32], dir: &std::path::Path) {
    let list = Command::new("ip").args(["netns", "list"]).output().unwrap();
    let list = String::from_utf8_lossy(&list.stdout);
    for ns in namespaces {
        assert!(!list.contains(ns.as_str()), "{ns} left behind");
    }
    for pid in pids {
        let gone = !std::path::Path::new(&format!("/proc/{pid}")).exists();
        assert!(gone, "sshd {pid} left behind");
    }
    assert!(!dir.exists(), "{} left behind", dir.display());
}

#[test]
fn a_panicking_test_cleans_up_too() {
    let mut left = None;
    let mut sleeper = None;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let bed = Testbed::builder()
            .hosts(2)
            .build()
            .expect("build the testbed");
        let namespaces: Vec<String> = bed.hosts().iter().map(|h| h.netns().to_string()).collect();
        let pids: Vec<i32> = bed.hosts().iter().map(|h| h.pid()).collect();
        left = Some((namespaces, pids, bed.dir().to_path_buf()));
        // A process started on a host must die with the testbed as well.
        sleeper = Some(bed.host(1).command("sleep").arg("600").spawn().unwrap());
        panic!("on purpose");
    }));
    assert!(result.is_err());
    let (namespaces, pids, dir) = left.expect("the testbed was built");
    assert_gone(&namespaces, &pids, &dir);
    let status = sleeper.expect("started").wait().unwrap();
    assert!(!status.success(), "the sleeper was not killed: {status}");
}

#[test]
fn bare_hosts_refuse_keyless_logins() {
    let bed = Testbed::builder()
        .hosts(2)
        .keys(KeyMode::None)
        .etc_hosts(false)
        .build()
        .expect("build the testbed");
    let address = bed.host(1).address().to_string();
    let output = ssh(&bed, 0, &address).output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Permission denied"), "{stderr}");
}

#[test]
fn root_password_works_only_inside() {
    let bed = Testbed::builder()
        .hosts(2)
        .keys(KeyMode::None)
        .root_password("raspberry")
        .build()
        .expect("build the testbed");
    if Command::new("sshpass").arg("-V").output().is_err() {
        panic!("sshpass is not installed: apt-get install sshpass");
    }
    let output = bed
        .host(0)
        .command("sshpass")
        .args([
            "-p",
            "raspberry",
            "ssh",
            "-o",
            "StrictHostKeyChecking=accept-new",
            "node1",
            "hostname",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "node1");
    let real = std::fs::read_to_string("/etc/shadow").unwrap();
    assert!(!real.contains(&bed.host(0).read_file("/etc/shadow").unwrap()));
}
