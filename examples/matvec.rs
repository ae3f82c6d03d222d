//! Matrix-vector product y = A·x with the rows of A spread over the ranks:
//! rank 0 builds A and x, scatters blocks of rows (scatterv: the blocks
//! differ by at most one row), broadcasts x, every rank multiplies its rows,
//! and the pieces of y are gathered back (gatherv) and checked against a
//! sequential product.
//!
//! Run: `bramble run -n 4 target/release/examples/matvec [N]` (N = 200 by default).
//! Prints `matvec: N=200 on 4 ranks, sum(y) = ..., matches sequential product: true`.

use bramble::Communicator;

/// Entries are small integers, so every sum is exact and the parallel and
/// sequential products agree bit for bit.
fn matrix_entry(i: usize, j: usize) -> f64 {
    ((i * 7 + j * 3) % 11) as f64 - 5.0
}

fn vector_entry(j: usize) -> f64 {
    (j % 5) as f64 + 1.0
}

/// How many rows each rank gets: n/size, the first n%size ranks one more.
fn row_counts(n: usize, size: usize) -> Vec<usize> {
    (0..size)
        .map(|r| n / size + usize::from(r < n % size))
        .collect()
}

fn multiply(rows: &[f64], x: &[f64]) -> Vec<f64> {
    rows.chunks(x.len().max(1))
        .map(|row| row.iter().zip(x).map(|(a, b)| a * b).sum())
        .collect()
}

fn parse_size(world: &Communicator) -> Result<usize, Box<dyn std::error::Error>> {
    let mut n = 0usize;
    if world.rank() == 0 {
        n = match std::env::args().nth(1) {
            Some(text) => text
                .parse()
                .map_err(|_| format!("N must be a positive integer, got {text:?}"))?,
            None => 200,
        };
    }
    world.broadcast(&mut n, 0)?;
    if n == 0 {
        return Err("N must be a positive integer, got 0".into());
    }
    Ok(n)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let world = bramble::init()?;
    let (rank, size) = (world.rank(), world.size());
    let n = parse_size(&world)?;
    let rows = row_counts(n, size);
    let element_counts: Vec<usize> = rows.iter().map(|r| r * n).collect();

    let is_root = rank == 0;
    let matrix: Vec<f64> = match is_root {
        true => (0..n * n).map(|k| matrix_entry(k / n, k % n)).collect(),
        false => Vec::new(),
    };
    let mut x = match is_root {
        true => (0..n).map(vector_entry).collect(),
        false => vec![0.0; n],
    };

    let mut my_rows = vec![0.0; element_counts[rank]];
    world.scatterv_slice(
        is_root.then_some((&matrix[..], &element_counts[..])),
        &mut my_rows,
        0,
    )?;
    world.broadcast_slice(&mut x, 0)?;
    let my_y = multiply(&my_rows, &x);

    let mut y = vec![0.0; n];
    world.gatherv_slice(&my_y, is_root.then_some((&mut y[..], &rows[..])), 0)?;
    if is_root {
        let sequential = multiply(&matrix, &x);
        println!(
            "matvec: N={n} on {size} ranks, sum(y) = {}, matches sequential product: {}",
            y.iter().sum::<f64>(),
            y == sequential
        );
    }
    Ok(())
}
