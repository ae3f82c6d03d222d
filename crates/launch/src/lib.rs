//! Parallel job launch: the launcher, the per-node proxy and how proxies start.
//!
//! Shaped like MPICH's Hydra: the [`launcher`] (`bramble run`) maps ranks to
//! nodes ([`plan`]) and starts one [`proxy`] per node through a [`bootstrap`]
//! (fork here, ssh elsewhere); the two talk a small [`protocol`] over the
//! proxy's stdin/stdout. Each proxy starts its node's ranks ([`rank`]), serves
//! their PMI-1 requests ([`kvs`]) and relays their output ([`output`]).

pub mod bootstrap;
pub mod budget;
pub mod kvs;
pub mod launcher;
pub mod output;
pub mod plan;
pub mod protocol;
pub mod proxy;
pub mod rank;
pub mod watchdog;

pub use launcher::run;
pub use plan::JobSpec;
