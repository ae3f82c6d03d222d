//! The block bramble keeps in `/etc/hosts` so every host knows every other by
//! name without the router: between `# BEGIN bramble` and `# END bramble`,
//! replaced whole on every run and never touching the lines around it.

const BEGIN: &str = "# BEGIN bramble";
const END: &str = "# END bramble";

/// The block for `(address, name)` pairs.
pub fn block(entries: &[(String, String)]) -> String {
    let mut text = format!("{BEGIN} (written by bramble setup; edits here are replaced)\n");
    for (address, name) in entries {
        text.push_str(&format!("{address}\t{name}\n"));
    }
    text.push_str(END);
    text.push('\n');
    text
}

/// `hosts` with its bramble block replaced by `block` (or `block` appended),
/// and every line outside the block that names one of `names` removed, so an
/// old or wrong entry cannot shadow ours.
pub fn with_block(hosts: &str, block: &str, names: &[String]) -> String {
    let mut out = String::new();
    let mut inside = false;
    let mut placed = false;
    for line in hosts.lines() {
        if line.starts_with(BEGIN) {
            inside = true;
            if !placed {
                out.push_str(block);
                placed = true;
            }
            continue;
        }
        if inside {
            inside = !line.starts_with(END);
            continue;
        }
        if names_any(line, names) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    if !placed {
        out.push_str(block);
    }
    out
}

/// Whether an uncommented hosts line gives an address to one of `names`
/// (other than localhost lines, which stay).
fn names_any(line: &str, names: &[String]) -> bool {
    let content = line.split('#').next().unwrap_or("");
    let mut fields = content.split_whitespace();
    let Some(address) = fields.next() else {
        return false;
    };
    if address == "127.0.0.1" || address == "::1" {
        return false;
    }
    fields.any(|field| names.iter().any(|name| name == field))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries() -> Vec<(String, String)> {
        vec![
            ("10.0.0.1".into(), "pi1".into()),
            ("10.0.0.2".into(), "pi2".into()),
        ]
    }

    #[test]
    fn appends_then_replaces_in_place() {
        let names = vec!["pi1".to_string(), "pi2".to_string()];
        let original = "127.0.0.1\tlocalhost\n10.0.0.9 pi2 # stale\n192.168.1.5 printer\n";
        let first = with_block(original, &block(&entries()), &names);
        assert!(first.starts_with("127.0.0.1\tlocalhost\n192.168.1.5 printer\n# BEGIN bramble"));
        assert!(first.contains("10.0.0.2\tpi2\n# END bramble\n"));
        assert_eq!(
            with_block(&first, &block(&entries()), &names),
            first,
            "not idempotent"
        );
        let moved = vec![("10.0.0.3".into(), "pi1".into())];
        let second = with_block(&first, &block(&moved), &names);
        assert!(second.contains("10.0.0.3\tpi1") && !second.contains("10.0.0.2"));
        assert_eq!(second.matches("# BEGIN bramble").count(), 1);
    }
}
