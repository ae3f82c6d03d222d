//! Parallel job launch.
