//! MPICH hostfiles: one host per line, `host:N` for N slots (default 1),
//! `#` comments (whole-line and trailing), blank lines ignored. The same
//! entries, comma-separated, make a `--hosts a,b:2,c` list.

use std::path::Path;

/// One host and how many processes it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostSpec {
    pub name: String,
    pub slots: usize,
}

/// A malformed entry: where it is and what is wrong with it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{source_name}:{line}: {message}")]
pub struct HostfileError {
    /// The file's path, or `--hosts` for a list.
    pub source_name: String,
    /// 1-based line number (entry number for a list).
    pub line: usize,
    pub message: String,
}

/// Reads and parses the hostfile at `path`.
pub fn parse_hostfile(path: &Path) -> Result<Vec<HostSpec>, HostfileError> {
    let source_name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| HostfileError {
        source_name: source_name.clone(),
        line: 0,
        message: format!("cannot read the hostfile: {e}"),
    })?;
    let hosts = parse_hostfile_text(&text, &source_name)?;
    if hosts.is_empty() {
        return Err(HostfileError {
            source_name,
            line: 0,
            message: "no hosts in the hostfile (one host per line, host:N for N slots)".into(),
        });
    }
    Ok(hosts)
}

/// Parses hostfile text; `source_name` names it in errors.
pub fn parse_hostfile_text(text: &str, source_name: &str) -> Result<Vec<HostSpec>, HostfileError> {
    let mut hosts = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let without_comment = raw.split('#').next().unwrap_or("").trim();
        if without_comment.is_empty() {
            continue;
        }
        hosts.push(
            parse_entry(without_comment).map_err(|message| HostfileError {
                source_name: source_name.to_string(),
                line: index + 1,
                message,
            })?,
        );
    }
    Ok(hosts)
}

/// Parses `a,b:2,c`.
pub fn parse_host_list(list: &str) -> Result<Vec<HostSpec>, HostfileError> {
    list.split(',')
        .enumerate()
        .map(|(index, entry)| {
            parse_entry(entry.trim()).map_err(|message| HostfileError {
                source_name: "--hosts".into(),
                line: index + 1,
                message: format!("entry {}: {message}", index + 1),
            })
        })
        .collect()
}

/// One `host` or `host:N` entry, already stripped of comments and blanks.
fn parse_entry(entry: &str) -> Result<HostSpec, String> {
    if entry.contains(char::is_whitespace) {
        return Err(format!(
            "{entry:?} contains a space; write one host per line as host or host:N"
        ));
    }
    let mut parts = entry.split(':');
    let name = parts.next().unwrap_or("");
    let slots = parts.next();
    if parts.next().is_some() {
        return Err(format!(
            "{entry:?} has more than one ':'; write host or host:N"
        ));
    }
    if name.is_empty() {
        return Err(format!("{entry:?} has no host name; write host or host:N"));
    }
    let slots = match slots {
        None => 1,
        Some(text) => match text.parse::<usize>() {
            Ok(0) => return Err(format!("{entry:?}: the slot count must be at least 1")),
            Ok(n) => n,
            Err(_) => {
                return Err(format!(
                    "{entry:?}: the slot count {text:?} is not a whole number"
                ))
            }
        },
    };
    Ok(HostSpec {
        name: name.to_string(),
        slots,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, slots: usize) -> HostSpec {
        HostSpec {
            name: name.into(),
            slots,
        }
    }

    #[test]
    fn parses_slots_comments_and_blanks() {
        let text = "# the bramble\npi0:4\n\n  pi1   # trailing comment\npi2:2#x\n";
        assert_eq!(
            parse_hostfile_text(text, "hf").unwrap(),
            vec![spec("pi0", 4), spec("pi1", 1), spec("pi2", 2)]
        );
    }

    #[test]
    fn malformed_lines_name_file_and_line() {
        let cases = [
            (":4", "no host name"),
            ("pi:0", "at least 1"),
            ("pi:abc", "not a whole number"),
            ("pi:", "not a whole number"),
            ("pi:-1", "not a whole number"),
            ("pi:2:3", "more than one ':'"),
            ("pi 2", "contains a space"),
        ];
        for (bad, why) in cases {
            let text = format!("ok\n# fine\n{bad}\n");
            let error = parse_hostfile_text(&text, "cluster.hosts").unwrap_err();
            assert_eq!(error.line, 3, "{bad}");
            let shown = error.to_string();
            assert!(shown.starts_with("cluster.hosts:3: "), "{shown}");
            assert!(shown.contains(why), "{bad}: {shown}");
        }
    }

    #[test]
    fn host_lists_follow_the_same_rules() {
        assert_eq!(
            parse_host_list("a, b:2,c").unwrap(),
            vec![spec("a", 1), spec("b", 2), spec("c", 1)]
        );
        let error = parse_host_list("a,,c").unwrap_err();
        assert_eq!(
            error.to_string(),
            "--hosts:2: entry 2: \"\" has no host name; write host or host:N"
        );
        assert!(parse_host_list("a:0").is_err());
    }

    #[test]
    fn missing_or_empty_files_are_errors() {
        let missing = parse_hostfile(Path::new("/nonexistent/hostfile")).unwrap_err();
        assert!(missing.to_string().contains("cannot read"), "{missing}");
        let dir = std::env::temp_dir().join(format!("bramble-hf-{}", std::process::id()));
        std::fs::write(&dir, "# nothing\n").unwrap();
        let empty = parse_hostfile(&dir).unwrap_err();
        std::fs::remove_file(&dir).unwrap();
        assert!(empty.to_string().contains("no hosts"), "{empty}");
    }

    proptest::proptest! {
        #[test]
        fn any_text_parses_or_fails_with_a_line_number(text in "[a-z0-9:# \n,]{0,80}") {
            match parse_hostfile_text(&text, "f") {
                Ok(hosts) => proptest::prop_assert!(hosts.iter().all(|h| h.slots >= 1 && !h.name.is_empty())),
                Err(e) => proptest::prop_assert!(e.line >= 1 && e.line <= text.lines().count()),
            }
        }

        #[test]
        fn formatted_entries_parse_back(
            hosts in proptest::collection::vec(("[a-z][a-z0-9.-]{0,12}", 1usize..64), 1..8)
        ) {
            let text: String = hosts.iter().map(|(n, s)| format!("{n}:{s}\n")).collect();
            let parsed = parse_hostfile_text(&text, "f").unwrap();
            let expected: Vec<HostSpec> = hosts.iter().map(|(n, s)| spec(n, *s)).collect();
            proptest::prop_assert_eq!(parsed, expected);
        }
    }
}
