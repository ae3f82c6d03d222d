//! Which hosts a command works on: the ones named on the command line, else
//! those of the hostfile (`-f FILE`, default `./hostfile`).

use std::path::Path;

use bramble_remote::{parse_host_list, parse_hostfile, HostSpec};

/// The default hostfile, the one `bramble setup` writes.
pub const DEFAULT_HOSTFILE: &str = "hostfile";

/// Hosts from `names` (each `host` or `host:N`, commas allowed) or, when
/// there are none, from `hostfile` or `./hostfile`.
pub fn load(names: &[String], hostfile: Option<&Path>) -> Result<Vec<HostSpec>, String> {
    if !names.is_empty() {
        if hostfile.is_some() {
            return Err("give hosts either on the command line or with -f, not both".into());
        }
        let mut hosts = Vec::new();
        for name in names {
            hosts.extend(parse_host_list(name).map_err(|e| e.to_string())?);
        }
        return Ok(hosts);
    }
    let path = hostfile.unwrap_or(Path::new(DEFAULT_HOSTFILE));
    if hostfile.is_none() && !path.exists() {
        return Err(format!(
            "no hosts given and no ./{DEFAULT_HOSTFILE} here; name the hosts, give -f HOSTFILE, or run bramble setup first"
        ));
    }
    parse_hostfile(path).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_hosts_win_and_are_checked() {
        let hosts = load(&["a,b:2".into(), "c".into()], None).unwrap();
        let names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert!(load(&["a:0".into()], None)
            .unwrap_err()
            .contains("at least 1"));
        assert!(load(&["a".into()], Some(Path::new("hf"))).is_err());
    }

    #[test]
    fn missing_hostfiles_say_what_to_do() {
        let error = load(&[], Some(Path::new("/nonexistent/hf"))).unwrap_err();
        assert!(error.contains("/nonexistent/hf"), "{error}");
    }
}
