//! What the OSU-style benchmark examples share: options, message sizes, the
//! output format of the OSU micro-benchmarks (so numbers line up with OSU's
//! and mpi4py's `demo/osu_*.py`), and timing.
//!
//! Options (all optional): `-s MIN` smallest message reported (default: all),
//! `-m MAX` largest message in bytes (default 4 MiB,
//! 1 MiB for collectives), `-i N` iterations for small messages (default
//! 1000; a tenth of it above 64 KiB), `-x N` warm-up iterations (default 100;
//! a tenth above 64 KiB).

// Point-to-point and collective benchmarks each use part of this module.
#![allow(dead_code)]

use std::time::Instant;

/// Where small messages end and the iteration counts drop, as in OSU.
const LARGE: usize = 64 * 1024;

pub struct Options {
    min_size: usize,
    pub max_size: usize,
    iterations: usize,
    warmup: usize,
}

impl Options {
    /// Reads the options from the command line; `default_max` bytes unless `-m`.
    pub fn from_args(default_max: usize) -> Result<Options, String> {
        let mut options = Options {
            min_size: 0,
            max_size: default_max,
            iterations: 1000,
            warmup: 100,
        };
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            let value = args
                .next()
                .ok_or_else(|| format!("{flag} needs a number"))?;
            let number: usize = value
                .parse()
                .map_err(|_| format!("{flag} takes a whole number, got {value:?}"))?;
            match flag.as_str() {
                "-m" => options.max_size = number,
                "-s" => options.min_size = number,
                "-i" => options.iterations = number.max(1),
                "-x" => options.warmup = number,
                _ => {
                    return Err(format!(
                        "unknown option {flag}: use -s MIN, -m MAX, -i ITERATIONS, -x WARMUP"
                    ))
                }
            }
        }
        Ok(options)
    }

    /// `(iterations, warm-up)` for messages of `size` bytes.
    pub fn rounds(&self, size: usize) -> (usize, usize) {
        if size > LARGE {
            ((self.iterations / 10).max(1), self.warmup / 10)
        } else {
            (self.iterations, self.warmup)
        }
    }

    /// `first` (0, 1 or 4 bytes), then powers of two up to `-m`, keeping
    /// those of at least `-s`.
    pub fn sizes(&self, first: usize) -> Vec<usize> {
        let mut sizes = vec![first];
        let mut size = 1;
        while size <= self.max_size {
            if size > first {
                sizes.push(size);
            }
            size *= 2;
        }
        sizes.retain(|&s| s >= self.min_size && s <= self.max_size);
        sizes
    }
}

/// The title and column header lines, OSU style.
pub fn header(title: &str, column: &str) {
    println!("# OSU MPI {title} (bramble)");
    println!("# Size{column:>22}");
}

/// One result row, OSU style: size left-aligned in 10, value in 18 with 2 decimals.
pub fn row(size: usize, value: f64) {
    println!("{size:<10}{value:>18.2}");
}

/// Runs `body` `warmup` times untimed and `iterations` times timed; microseconds per iteration.
pub fn time_us(
    iterations: usize,
    warmup: usize,
    mut body: impl FnMut() -> Result<(), bramble::Error>,
) -> Result<f64, bramble::Error> {
    for _ in 0..warmup {
        body()?;
    }
    let start = Instant::now();
    for _ in 0..iterations {
        body()?;
    }
    Ok(start.elapsed().as_secs_f64() * 1e6 / iterations as f64)
}

/// Fails with a clear message unless the job has at least `ranks` ranks.
pub fn require_ranks(
    world: &bramble::Communicator,
    ranks: usize,
    name: &str,
) -> Result<(), String> {
    if world.size() < ranks {
        return Err(format!(
            "{name} needs at least {ranks} ranks: bramble run -n {ranks} ..."
        ));
    }
    Ok(())
}
