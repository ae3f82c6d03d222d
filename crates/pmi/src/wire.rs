//! One PMI-1 wire line: `cmd=NAME key=value key=value\n`.
//!
//! This is the framing every simple-PMI message uses (MPICH `src/pmi`, Hydra's
//! `pmiserv_pmi_v1.c`): space-separated `key=value` attributes, the first of
//! which names the command, terminated by a newline. A value may contain `=`
//! (only the first `=` of an attribute splits), never a space or newline.

use crate::PmiError;

/// The longest line we accept. MPICH's `PMIU_MAXLINE` is 1024; Hydra accepts
/// longer ones (its `vallen_max` is 1024 plus key and command), so allow some room.
pub const MAX_LINE: usize = 4096;

/// A parsed wire line: the command name and its attributes in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub command: String,
    pub attributes: Vec<(String, String)>,
}

impl Line {
    /// A line for `command` with no attributes yet.
    pub fn new(command: &str) -> Self {
        Line {
            command: command.to_string(),
            attributes: Vec::new(),
        }
    }

    /// Adds an attribute; builder style.
    pub fn with(mut self, key: &str, value: impl ToString) -> Self {
        self.attributes.push((key.to_string(), value.to_string()));
        self
    }

    /// Parses one line (with or without its trailing newline).
    ///
    /// Accepts both the `cmd=` and the `mcmd=` spellings of the command key
    /// (`mcmd` introduces MPICH's multi-line spawn, which we then refuse
    /// politely at a higher level rather than misparse here).
    pub fn parse(text: &str) -> Result<Line, PmiError> {
        if text.len() > MAX_LINE {
            return Err(PmiError::Malformed(format!(
                "line of {} bytes is longer than the {MAX_LINE}-byte limit",
                text.len()
            )));
        }
        let text = text.strip_suffix('\n').unwrap_or(text);
        let mut tokens = text.split(' ').filter(|t| !t.is_empty());
        let first = tokens
            .next()
            .ok_or_else(|| PmiError::Malformed("empty line".into()))?;
        let command = match first.split_once('=') {
            Some(("cmd" | "mcmd", name)) if !name.is_empty() => name.to_string(),
            _ => {
                return Err(PmiError::Malformed(format!(
                    "line must start with cmd=NAME, got {:?}",
                    truncate(first)
                )))
            }
        };
        let mut attributes = Vec::new();
        for token in tokens {
            let (key, value) = token.split_once('=').ok_or_else(|| {
                PmiError::Malformed(format!(
                    "attribute {:?} of command {command:?} has no '='",
                    truncate(token)
                ))
            })?;
            if key.is_empty() {
                return Err(PmiError::Malformed(format!(
                    "attribute with an empty key in command {command:?}"
                )));
            }
            attributes.push((key.to_string(), value.to_string()));
        }
        Ok(Line {
            command,
            attributes,
        })
    }

    /// The value of attribute `key`, if present (the first one wins).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value of a mandatory attribute.
    pub fn require(&self, key: &str) -> Result<&str, PmiError> {
        self.get(key).ok_or_else(|| {
            PmiError::Malformed(format!(
                "command {:?} lacks its {key:?} attribute",
                self.command
            ))
        })
    }

    /// A mandatory integer attribute.
    pub fn require_int(&self, key: &str) -> Result<i64, PmiError> {
        let text = self.require(key)?;
        text.parse().map_err(|_| {
            PmiError::Malformed(format!(
                "attribute {key}={:?} of command {:?} is not an integer",
                truncate(text),
                self.command
            ))
        })
    }

    /// Formats the line with its trailing newline, ready to write.
    ///
    /// Fails when a key or value would break the framing (space, newline,
    /// `=` in a key) so a bad value never corrupts the stream.
    pub fn to_wire(&self) -> Result<String, PmiError> {
        let mut out = format!("cmd={}", self.command);
        for (key, value) in &self.attributes {
            if key.is_empty() || key.contains([' ', '\n', '=']) || value.contains([' ', '\n']) {
                return Err(PmiError::Malformed(format!(
                    "attribute {key:?}={:?} cannot be sent: PMI-1 forbids spaces and newlines",
                    truncate(value)
                )));
            }
            out.push(' ');
            out.push_str(key);
            out.push('=');
            out.push_str(value);
        }
        out.push('\n');
        if out.len() > MAX_LINE {
            return Err(PmiError::Malformed(format!(
                "command {:?} would be {} bytes, over the {MAX_LINE}-byte limit",
                self.command,
                out.len()
            )));
        }
        Ok(out)
    }
}

/// Keeps error messages short when a peer sends a huge garbage token.
fn truncate(text: &str) -> &str {
    let mut end = text.len().min(60);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mpich_init() {
        let line = Line::parse("cmd=init pmi_version=1 pmi_subversion=1\n").unwrap();
        assert_eq!(line.command, "init");
        assert_eq!(line.require_int("pmi_version").unwrap(), 1);
        assert_eq!(line.get("pmi_subversion"), Some("1"));
    }

    #[test]
    fn value_may_contain_equals_and_parentheses() {
        let line = Line::parse("cmd=get_result rc=0 value=(vector,(0,1,2)) x=a=b").unwrap();
        assert_eq!(line.get("value"), Some("(vector,(0,1,2))"));
        assert_eq!(line.get("x"), Some("a=b"));
    }

    #[test]
    fn round_trips() {
        let line = Line::new("put")
            .with("kvsname", "kvs_1")
            .with("key", "k")
            .with("value", "v=1");
        let wire = line.to_wire().unwrap();
        assert_eq!(wire, "cmd=put kvsname=kvs_1 key=k value=v=1\n");
        assert_eq!(Line::parse(&wire).unwrap(), line);
    }

    #[test]
    fn malformed_lines_are_errors() {
        for bad in [
            "",
            "\n",
            "init",
            "cmd=",
            "foo=bar",
            "cmd=put novalue",
            "cmd=put =x",
        ] {
            assert!(Line::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(Line::parse(&"x".repeat(MAX_LINE + 1)).is_err());
    }

    #[test]
    fn refuses_to_format_breaking_values() {
        assert!(Line::new("put").with("value", "a b").to_wire().is_err());
        assert!(Line::new("put").with("va=l", "x").to_wire().is_err());
        assert!(Line::new("put").with("v", "a\nb").to_wire().is_err());
    }

    #[test]
    fn non_integer_is_an_error_not_a_panic() {
        let line = Line::parse("cmd=abort exitcode=lots").unwrap();
        assert!(line.require_int("exitcode").is_err());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_input_never_panics(text in ".{0,200}") {
            let _ = Line::parse(&text);
        }

        #[test]
        fn formatted_lines_parse_back(
            command in "[a-z_]{1,12}",
            attributes in proptest::collection::vec(("[a-z_]{1,8}", "[!-~]{0,20}"), 0..6),
        ) {
            let mut line = Line::new(&command);
            for (key, value) in &attributes {
                line = line.with(key, value);
            }
            let wire = line.to_wire().unwrap();
            proptest::prop_assert_eq!(Line::parse(&wire).unwrap(), line);
        }
    }
}
