//! Facts a remote script reports as `key=value` lines, one per line.

use std::collections::BTreeMap;

/// Parsed `key=value` lines; other lines are ignored.
#[derive(Debug, Default, Clone)]
pub struct Facts(BTreeMap<String, String>);

impl Facts {
    pub fn parse(text: &str) -> Facts {
        Facts(
            text.lines()
                .filter_map(|line| line.split_once('='))
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .collect(),
        )
    }

    /// The value of `key`, empty when absent.
    pub fn get(&self, key: &str) -> &str {
        self.0.get(key).map(String::as_str).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_key_values() {
        let facts = super::Facts::parse("a=1\nnoise\nb = x=y\n");
        assert_eq!(facts.get("a"), "1");
        assert_eq!(facts.get("b"), "x=y");
        assert_eq!(facts.get("c"), "");
    }
}
