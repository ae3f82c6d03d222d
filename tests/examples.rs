//! End-to-end tests of the teaching examples: matvec, sample_sort and
//! word_count each print a result that is checked here, on several job sizes.

mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use common::{bramble, example, run};

const LIMIT: Duration = Duration::from_secs(60);

fn run_example(name: &str, size: usize, args: &[&str]) -> String {
    let mut command = Command::new(bramble());
    command
        .args(["run", "-n", &size.to_string()])
        .arg(example(name))
        .args(args);
    let result = run(command, LIMIT);
    result.assert_success();
    result.stdout
}

#[test]
fn matvec_matches_the_sequential_product() {
    for (size, n) in [(1, "5"), (3, "7"), (4, "200"), (5, "2")] {
        let output = run_example("matvec", size, &[n]);
        assert!(
            output.contains(&format!("matvec: N={n} on {size} ranks"))
                && output.contains("matches sequential product: true"),
            "size {size}: {output}"
        );
    }
}

#[test]
fn sample_sort_sorts_everything() {
    for size in [1, 2, 4, 6] {
        let output = run_example("sample_sort", size, &["3000"]);
        assert!(
            output.contains(&format!(
                "sample sort: {} keys on {size} ranks",
                3000 * size
            )) && output.contains("matches sequential sort: true"),
            "size {size}: {output}"
        );
    }
}

#[test]
fn word_count_counts_like_a_sequential_count() {
    let text = include_str!("../examples/word_count.txt");
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        *counts.entry(word.to_lowercase()).or_default() += 1;
    }
    let total: u64 = counts.values().sum();
    for size in [1, 3, 4] {
        let output = run_example("word_count", size, &[]);
        let mut lines = output.lines();
        assert_eq!(
            lines.next(),
            Some(
                format!(
                    "{total} words, {} distinct, counted by {size} ranks",
                    counts.len()
                )
                .as_str()
            )
        );
        let top: Vec<&str> = lines.collect();
        assert_eq!(top.len(), 10, "{output}");
        for line in top {
            let (word, count) = line.split_once(' ').expect("lines are `word count`");
            assert_eq!(
                counts.get(word).map(u64::to_string).as_deref(),
                Some(count),
                "{line}"
            );
        }
        assert!(output.contains("\nthe 28\n"), "{output}");
    }
}
