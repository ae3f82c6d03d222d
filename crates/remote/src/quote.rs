//! Shell-quoting: ssh hands the remote side one string, which the remote
//! user's shell parses again, so an argv must be quoted to arrive intact.

/// `word` as one POSIX shell word: unchanged when it is plainly safe, else in
/// single quotes (with `'` written as `'\''`).
pub fn quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if safe {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// An argv as one shell command line.
pub fn join<S: AsRef<str>>(argv: &[S]) -> String {
    argv.iter()
        .map(|word| quote(word.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn quotes_only_what_needs_it() {
        assert_eq!(quote("ls"), "ls");
        assert_eq!(quote("/usr/bin/a.out"), "/usr/bin/a.out");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(join(&["echo", "$HOME", "*"]), "echo '$HOME' '*'");
    }

    proptest::proptest! {
        #[test]
        fn the_shell_gets_back_the_same_argv(argv in proptest::collection::vec("[ -~\t]{0,12}", 1..5)) {
            let line = format!("printf '%s\\0' {}", join(&argv));
            let out = Command::new("sh").args(["-c", &line]).output().unwrap();
            let got: Vec<String> = String::from_utf8_lossy(&out.stdout)
                .split_terminator('\0').map(String::from).collect();
            proptest::prop_assert_eq!(got, argv);
        }
    }
}
