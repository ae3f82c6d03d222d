//! Accepts mpiexec's single-dash spellings (`-np 4`, `-hostfile f`, `-genv K V`)
//! so a user can replace the word `mpiexec` and nothing else.
//!
//! Only options before the program name are rewritten; the program's own
//! arguments pass through untouched.

/// `(mpiexec spelling, bramble spelling, number of values it takes)`.
const SPELLINGS: &[(&str, &str, usize)] = &[
    ("-np", "-n", 1),
    ("-n", "-n", 1),
    ("--np", "-n", 1),
    ("-f", "-f", 1),
    ("-hostfile", "--hostfile", 1),
    ("--hostfile", "--hostfile", 1),
    ("-machinefile", "--hostfile", 1),
    ("-hosts", "--hosts", 1),
    ("--hosts", "--hosts", 1),
    ("-host", "--hosts", 1),
    ("-ppn", "--ppn", 1),
    ("--ppn", "--ppn", 1),
    ("-genv", "--genv", 2),
    ("--genv", "--genv", 2),
    ("--env", "--env", 1),
    ("-wdir", "--wdir", 1),
    ("--wdir", "--wdir", 1),
    ("--ssh", "--ssh", 1),
    ("-launcher-exec", "--ssh", 1),
];

/// Flags without values that may stand before the program.
const FLAGS: &[&str] = &[
    "-l",
    "--label",
    "-label",
    "-prepend-rank",
    "--stage",
    "-h",
    "--help",
];

/// Rewrites `argv` (program name first) when its subcommand is `run`.
pub fn normalize(argv: Vec<String>) -> Vec<String> {
    if argv.get(1).map(String::as_str) != Some("run") {
        return argv;
    }
    let mut out: Vec<String> = argv[..2].to_vec();
    let mut rest = argv.into_iter().skip(2);
    while let Some(arg) = rest.next() {
        if arg == "--" {
            out.push(arg);
            break;
        }
        if let Some(&(_, ours, values)) = SPELLINGS.iter().find(|(theirs, _, _)| *theirs == arg) {
            out.push(ours.to_string());
            out.extend(rest.by_ref().take(values));
            continue;
        }
        if FLAGS.contains(&arg.as_str()) {
            out.push(match arg.as_str() {
                "-label" | "-prepend-rank" => "--label".to_string(),
                _ => arg,
            });
            continue;
        }
        let is_program = !arg.starts_with('-');
        out.push(arg);
        if is_program {
            break;
        }
    }
    out.extend(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(line: &str) -> String {
        normalize(line.split(' ').map(String::from).collect()).join(" ")
    }

    #[test]
    fn rewrites_mpiexec_spellings_before_the_program() {
        assert_eq!(
            norm("bramble run -np 4 -hostfile hf -genv A 1 -ppn 2 ./a.out -np 9"),
            "bramble run -n 4 --hostfile hf --genv A 1 --ppn 2 ./a.out -np 9"
        );
        assert_eq!(
            norm("bramble run -n 2 -- prog -hosts x"),
            "bramble run -n 2 -- prog -hosts x"
        );
        assert_eq!(
            norm("bramble run -l -n 2 hostname"),
            "bramble run -l -n 2 hostname"
        );
        assert_eq!(
            norm("bramble run -prepend-rank -n 2 hostname"),
            "bramble run --label -n 2 hostname"
        );
    }

    #[test]
    fn leaves_other_subcommands_alone() {
        assert_eq!(norm("bramble exec -np 4"), "bramble exec -np 4");
    }
}
