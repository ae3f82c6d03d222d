//! `--rename` patterns: `pinode{}` or `pinode{:02}` numbered in hostfile
//! order from 1 (`pinode01`, `pinode02`, ...).

/// A checked pattern with one `{}` or `{:0N}` placeholder.
#[derive(Debug, Clone)]
pub struct Pattern {
    prefix: String,
    width: usize,
    suffix: String,
}

impl Pattern {
    pub fn parse(text: &str) -> Result<Pattern, String> {
        let bad = |why: &str| {
            format!("--rename {text:?}: {why}; write e.g. 'pinode{{}}' or 'pinode{{:02}}'")
        };
        let open = text.find('{').ok_or_else(|| bad("no {} placeholder"))?;
        let close = text[open..]
            .find('}')
            .map(|i| open + i)
            .ok_or_else(|| bad("unclosed {"))?;
        let (prefix, suffix) = (&text[..open], &text[close + 1..]);
        if suffix.contains(['{', '}']) || prefix.contains('}') {
            return Err(bad("only one placeholder is allowed"));
        }
        let width = match &text[open + 1..close] {
            "" => 0,
            spec => spec
                .strip_prefix(":0")
                .or_else(|| spec.strip_prefix(':'))
                .and_then(|digits| digits.parse::<usize>().ok())
                .filter(|width| *width <= 8)
                .ok_or_else(|| bad("the placeholder must be {} or {:0N}"))?,
        };
        let pattern = Pattern {
            prefix: prefix.to_string(),
            width,
            suffix: suffix.to_string(),
        };
        let sample = pattern.name(1);
        let valid = sample.len() <= 63
            && sample.starts_with(|c: char| c.is_ascii_alphabetic())
            && sample
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !valid {
            return Err(bad(&format!(
                "{sample:?} is not a valid hostname (letters, digits and '-', starting with a letter)"
            )));
        }
        Ok(pattern)
    }

    /// The name of the `number`th host (from 1).
    pub fn name(&self, number: usize) -> String {
        format!(
            "{}{:0width$}{}",
            self.prefix,
            number,
            self.suffix,
            width = self.width
        )
    }
}

#[cfg(test)]
mod tests {
    use super::Pattern;

    #[test]
    fn numbers_with_optional_padding() {
        assert_eq!(Pattern::parse("pinode{:02}").unwrap().name(3), "pinode03");
        assert_eq!(Pattern::parse("pi{}-x").unwrap().name(12), "pi12-x");
    }

    #[test]
    fn rejects_bad_patterns() {
        for bad in [
            "pinode", "pi{", "pi{}{}", "pi{x}", "{}pi", "pi_{}", "pi{:02",
        ] {
            assert!(Pattern::parse(bad).is_err(), "{bad}");
        }
    }
}
