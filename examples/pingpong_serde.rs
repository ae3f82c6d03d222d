//! Ping-pong of a small struct through serde, the counterpart of mpi4py's
//! pickle-based `comm.send`/`comm.recv` (bench/python/pickle_pingpong.py):
//! half the round trip in microseconds.
//!
//! Run: `bramble run -n 2 target/release/examples/pingpong_serde [ITERATIONS]`

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Reading {
    sensor: String,
    id: u32,
    x: f64,
    y: f64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let world = bramble::init()?;
    if world.size() < 2 {
        return Err("pingpong_serde needs 2 ranks: bramble run -n 2 ...".into());
    }
    let iterations: usize = match std::env::args().nth(1) {
        Some(text) => text
            .parse()
            .map_err(|_| format!("ITERATIONS must be a whole number, got {text:?}"))?,
        None => 10_000,
    };
    let reading = Reading {
        sensor: "pi".to_string(),
        id: 7,
        x: 1.5,
        y: -2.25,
    };
    let warmup = iterations / 10;
    let mut start = std::time::Instant::now();
    for i in 0..warmup + iterations {
        if i == warmup {
            start = std::time::Instant::now();
        }
        match world.rank() {
            0 => {
                world.send(&reading, 1, 0)?;
                let back: Reading = world.recv(1, 0)?;
                if back != reading {
                    return Err("the struct came back changed".into());
                }
            }
            1 => {
                let got: Reading = world.recv(0, 0)?;
                world.send(&got, 0, 0)?;
            }
            _ => {}
        }
    }
    if world.rank() == 0 {
        let micros = start.elapsed().as_secs_f64() * 1e6 / iterations as f64 / 2.0;
        println!("serde struct ping-pong latency (us): {micros:.2}");
    }
    Ok(())
}
