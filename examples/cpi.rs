//! Computes pi by numerical integration of 4/(1+x²) over [0,1], like mpi4py's
//! `demo/compute-pi`: rank 0 broadcasts the number of intervals, each rank sums
//! its share, and the sums are reduced to rank 0.
//!
//! Run: `bramble run -n 4 target/release/examples/cpi [INTERVALS]`

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let world = bramble::init()?;
    let mut intervals: u64 = 0;
    if world.rank() == 0 {
        intervals = match std::env::args().nth(1) {
            Some(text) => text
                .parse()
                .map_err(|_| format!("INTERVALS must be a positive integer, got {text:?}"))?,
            None => 1_000_000,
        };
        if intervals == 0 {
            return Err("INTERVALS must be a positive integer, got 0".into());
        }
    }
    world.broadcast(&mut intervals, 0)?;

    let width = 1.0 / intervals as f64;
    let local: f64 = (world.rank() as u64..intervals)
        .step_by(world.size())
        .map(|i| {
            let x = width * (i as f64 + 0.5);
            4.0 / (1.0 + x * x)
        })
        .sum::<f64>()
        * width;

    if let Some(pi) = world.reduce(local, 0, |a, b| a + b)? {
        println!(
            "pi is approximately {pi:.16}, error is {:.16}",
            (pi - std::f64::consts::PI).abs()
        );
    }
    Ok(())
}
