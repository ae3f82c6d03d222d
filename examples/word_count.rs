//! Word count over a text split across the ranks: rank 0 reads the text and
//! scatters its lines in nearly equal shares, every rank counts its words,
//! and the counts are merged with a reduce whose operation merges maps.
//!
//! Run: `bramble run -n 4 target/release/examples/word_count [FILE]`
//! (a small text shipped with the example by default). Prints the total, the
//! number of distinct words, and the ten most frequent words as `word count`.

use std::collections::BTreeMap;

type Counts = BTreeMap<String, u64>;

const SAMPLE: &str = include_str!("word_count.txt");

fn count_words(lines: &[String]) -> Counts {
    let mut counts = Counts::new();
    for line in lines {
        for word in line
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            *counts.entry(word.to_lowercase()).or_default() += 1;
        }
    }
    counts
}

fn merge(mut into: Counts, from: Counts) -> Counts {
    for (word, count) in from {
        *into.entry(word).or_default() += count;
    }
    into
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let world = bramble::init()?;
    let (rank, size) = (world.rank(), world.size());

    let shares: Option<Vec<Vec<String>>> = match rank {
        0 => {
            let text = match std::env::args().nth(1) {
                Some(path) => std::fs::read_to_string(&path)
                    .map_err(|e| format!("cannot read {path}: {e}"))?,
                None => SAMPLE.to_string(),
            };
            let lines: Vec<String> = text.lines().map(str::to_string).collect();
            // Rank r gets lines r, r + size, r + 2·size, ...
            Some(
                (0..size)
                    .map(|r| lines.iter().skip(r).step_by(size).cloned().collect())
                    .collect(),
            )
        }
        _ => None,
    };
    let my_lines: Vec<String> = world.scatter(shares.as_deref(), 0)?;
    let counts = world.reduce(count_words(&my_lines), 0, merge)?;

    if let Some(counts) = counts {
        let total: u64 = counts.values().sum();
        println!(
            "{total} words, {} distinct, counted by {size} ranks",
            counts.len()
        );
        let mut by_frequency: Vec<(&String, &u64)> = counts.iter().collect();
        by_frequency.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (word, count) in by_frequency.into_iter().take(10) {
            println!("{word} {count}");
        }
    }
    Ok(())
}
