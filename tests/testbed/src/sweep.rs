//! Removing what testbeds of dead processes left behind (a test killed with
//! SIGKILL never runs `Drop`): their namespaces and temporary directories.
//!
//! Only names with our prefix whose owning pid no longer exists are touched.

use std::path::Path;

use crate::net::{destroy, run};

/// Prefix of every namespace a testbed creates: `bt-<pid>-<counter>-...`.
pub(crate) const NS_PREFIX: &str = "bt-";
/// Prefix of every testbed's directory under the temp dir.
pub(crate) const DIR_PREFIX: &str = "bramble-testbed-";

/// The pid in a name `PREFIX<pid>-...`, if it has our prefix.
fn owner(name: &str, prefix: &str) -> Option<u32> {
    name.strip_prefix(prefix)?.split('-').next()?.parse().ok()
}

fn is_dead(pid: u32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
}

/// Deletes stale namespaces and directories of dead testbeds.
pub(crate) fn sweep() {
    if let Ok(list) = run("ip", &["netns", "list"]) {
        for name in list.lines().filter_map(|l| l.split_whitespace().next()) {
            if owner(name, NS_PREFIX).is_some_and(is_dead) {
                destroy(name);
            }
        }
    }
    if let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if owner(&name, DIR_PREFIX).is_some_and(is_dead) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_is_parsed_only_from_our_names() {
        assert_eq!(owner("bt-123-4-h0", NS_PREFIX), Some(123));
        assert_eq!(owner("mh-a", NS_PREFIX), None);
        assert_eq!(owner("bt-x-1", NS_PREFIX), None);
        assert_eq!(owner("bramble-testbed-77-0", DIR_PREFIX), Some(77));
    }
}
