//! Starting a rank: learn the job from the process manager and connect to the peers.
//!
//! Bootstrap speaks PMI-1 as a client, so it works under `bramble run` and
//! under MPICH's `mpiexec` alike: it gets its rank and size, the job secret
//! (from the launcher, or made by rank 0 when the launcher has none),
//! publishes where it listens, meets the others in a PMI barrier, and opens
//! the authenticated connections. Without a launcher it is a job of size 1.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use bramble_pmi::{host_name, Client};

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::transport::handshake::Secret;
use crate::transport::shm::{Established, ShmTransport};
use crate::transport::tcp::{connect_all, Endpoint, Listener, TcpTransport};
use crate::transport::Transport;

/// PMI key under which the launcher (or rank 0) publishes the job secret.
pub const SECRET_KEY: &str = "bramble-secret";

/// Environment variable choosing how ranks on one host talk: `auto` (shared
/// memory, the default) or `tcp` (loopback TCP, for comparison or debugging).
pub const TRANSPORT_ENV: &str = "BRAMBLE_TRANSPORT";

/// Whether ranks on the same host use shared memory, from [`TRANSPORT_ENV`].
fn shared_memory_enabled() -> Result<bool> {
    match std::env::var(TRANSPORT_ENV) {
        Err(_) => Ok(true),
        Ok(value) => match value.as_str() {
            "" | "auto" => Ok(true),
            "tcp" => Ok(false),
            other => Err(Error::Bootstrap(format!(
                "{TRANSPORT_ENV}={other:?} is not a transport: use auto (shared memory on one host) or tcp"
            ))),
        },
    }
}

/// Where rank `rank` publishes its node identity and endpoint.
fn endpoint_key(rank: usize) -> String {
    format!("bramble-ep-{rank}")
}

/// Builds the engine of this process.
pub(crate) fn start() -> Result<Engine> {
    let Some(mut pmi) = Client::from_env()? else {
        return Ok(Engine::new(0, 1, Vec::new(), vec![None]));
    };
    let rank = pmi.rank();
    let size = pmi.size();

    let mut secret = match pmi.get(SECRET_KEY)? {
        Some(hex) => Some(Secret::from_hex(&hex).map_err(Error::Bootstrap)?),
        None if rank == 0 => {
            let fresh = Secret::generate().map_err(Error::Bootstrap)?;
            pmi.put(SECRET_KEY, &fresh.to_hex())?;
            Some(fresh)
        }
        None => None,
    };

    let listener = Listener::open()?;
    let port = listener.port()?;
    let node = node_identity();
    let mine = Endpoint {
        addresses: local_addresses()
            .into_iter()
            .map(|ip| SocketAddr::new(ip, port))
            .collect(),
    };
    pmi.put(&endpoint_key(rank), &format!("{node}|{}", mine.encode()))?;
    pmi.barrier()?;

    if secret.is_none() {
        let hex = pmi
            .get(SECRET_KEY)?
            .ok_or_else(|| Error::Bootstrap("rank 0 did not publish the job secret".to_string()))?;
        secret = Some(Secret::from_hex(&hex).map_err(Error::Bootstrap)?);
    }
    let secret = secret.ok_or_else(|| Error::Bootstrap("no job secret".to_string()))?;

    let shared_memory = shared_memory_enabled()?;
    let mut endpoints = Vec::with_capacity(size);
    let mut same_host = Vec::with_capacity(size);
    for peer in 0..size {
        if peer == rank {
            endpoints.push(None);
            same_host.push(false);
            continue;
        }
        let value = pmi
            .get(&endpoint_key(peer))?
            .ok_or_else(|| Error::Bootstrap(format!("rank {peer} did not publish its address")))?;
        let (their_node, addresses) = value.split_once('|').ok_or_else(|| {
            Error::Bootstrap(format!(
                "rank {peer} published a malformed address {value:?}"
            ))
        })?;
        let mut endpoint = Endpoint::decode(addresses)?;
        same_host.push(their_node == node);
        if their_node == node {
            // Same host: loopback always works and skips the NIC.
            let port = endpoint
                .addresses
                .first()
                .map(SocketAddr::port)
                .unwrap_or(0);
            endpoint.addresses = vec![SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port)];
        }
        endpoints.push(Some(endpoint));
    }

    // Every pair first meets over authenticated TCP; pairs on one host then
    // move their messages to shared memory, keeping TCP as control channel.
    let streams = connect_all(rank, &endpoints, listener, &secret)?;
    let (local, mut remote): (Vec<_>, Vec<_>) = streams
        .into_iter()
        .enumerate()
        .filter_map(|(peer, stream)| stream.map(|s| (peer, s)))
        .partition(|(peer, _)| same_host[*peer]);
    let Established { shm, fallback } = ShmTransport::establish(rank, size, local, shared_memory)?;
    remote.extend(fallback);

    // Only transports that reach someone: the engine polls each of them.
    let mut transports: Vec<Box<dyn Transport>> = Vec::new();
    let mut route: Vec<Option<usize>> = vec![None; size];
    for peer in shm.peers() {
        route[peer] = Some(transports.len());
    }
    if route.iter().any(Option::is_some) {
        transports.push(Box::new(shm));
    }
    if !remote.is_empty() {
        for (peer, _) in &remote {
            route[*peer] = Some(transports.len());
        }
        transports.push(Box::new(TcpTransport::new(size, remote)?));
    }
    let mut engine = Engine::new(rank, size, transports, route);
    let ranks_here = 1 + same_host.iter().filter(|&&same| same).count();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if ranks_here > cores {
        engine.share_cores();
    }
    engine.set_on_close(Box::new(move || pmi.finalize().map_err(Error::from)));
    Ok(engine)
}

/// Identifies the host this process runs on, even for "hosts" that share a
/// kernel (containers, network namespaces): boot id, host name and network
/// namespace must all agree.
fn node_identity() -> String {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
    let netns = std::fs::read_link("/proc/self/ns/net")
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let raw = format!("{}/{}/{}", boot.trim(), host_name(), netns);
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.:/[]".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The IPv4 addresses of this host's non-loopback interfaces, or loopback when
/// there are none.
fn local_addresses() -> Vec<IpAddr> {
    let mut found = Vec::new();
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a linked list we walk read-only and
    // free exactly once with freeifaddrs.
    unsafe {
        if libc::getifaddrs(&mut list) == 0 {
            let mut cursor = list;
            while !cursor.is_null() {
                let entry = &*cursor;
                if !entry.ifa_addr.is_null()
                    && i32::from((*entry.ifa_addr).sa_family) == libc::AF_INET
                    && entry.ifa_flags & libc::IFF_UP as u32 != 0
                {
                    let address = &*(entry.ifa_addr as *const libc::sockaddr_in);
                    let ip = Ipv4Addr::from(u32::from_be(address.sin_addr.s_addr));
                    if !ip.is_loopback() {
                        found.push(IpAddr::V4(ip));
                    }
                }
                cursor = entry.ifa_next;
            }
            libc::freeifaddrs(list);
        }
    }
    if found.is_empty() {
        found.push(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    found
}
