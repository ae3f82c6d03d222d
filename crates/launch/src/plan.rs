//! What the user asked for, and which ranks run where.
//!
//! Ranks fill the hosts in order, each up to its slots (block mapping, like
//! Hydra), wrapping round when the job has more ranks than slots.

use std::collections::BTreeMap;

use bramble_remote::{HostSpec, Ssh};

/// A parallel job as the user described it.
#[derive(Debug, Clone)]
pub struct JobSpec {
    /// Number of ranks.
    pub ranks: usize,
    /// Where to run; empty means "here, all ranks".
    pub hosts: Vec<HostSpec>,
    pub program: String,
    pub args: Vec<String>,
    /// Extra environment for every rank (`--env K=V`, `-genv K V`).
    pub env: Vec<(String, String)>,
    /// Working directory of every rank; the launcher's when `None`.
    pub wdir: Option<String>,
    /// Prefix each output line with `[rank] `.
    pub label: bool,
    /// How to reach remote hosts.
    pub ssh: Ssh,
}

/// Assigns ranks to hosts. Returns, per host that gets any rank, its ranks in
/// order; hosts keep the order they were given in.
pub fn map_ranks(hosts: &[HostSpec], ranks: usize) -> Result<Vec<(String, Vec<usize>)>, String> {
    if ranks == 0 {
        return Err("the job needs at least one rank (-n 1 or more)".to_string());
    }
    if hosts.is_empty() {
        return Ok(vec![("localhost".to_string(), (0..ranks).collect())]);
    }
    if let Some(host) = hosts.iter().find(|h| h.slots == 0) {
        return Err(format!("host {} has 0 slots", host.name));
    }
    // Hosts named twice share one proxy: merge them, keeping first position.
    let mut order: Vec<String> = Vec::new();
    let mut assigned: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut next = 0;
    while next < ranks {
        for host in hosts {
            let take = host.slots.min(ranks - next);
            if take == 0 {
                break;
            }
            let list = assigned.entry(host.name.clone()).or_insert_with(|| {
                order.push(host.name.clone());
                Vec::new()
            });
            list.extend(next..next + take);
            next += take;
        }
    }
    Ok(order
        .into_iter()
        .map(|name| {
            let ranks = assigned.remove(&name).unwrap_or_default();
            (name, ranks)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str, slots: usize) -> HostSpec {
        HostSpec {
            name: name.to_string(),
            slots,
        }
    }

    #[test]
    fn no_hosts_means_all_local() {
        assert_eq!(
            map_ranks(&[], 3).unwrap(),
            vec![("localhost".into(), vec![0, 1, 2])]
        );
    }

    #[test]
    fn block_mapping_fills_hosts_in_order() {
        let hosts = [host("a", 2), host("b", 2), host("c", 1)];
        assert_eq!(
            map_ranks(&hosts, 5).unwrap(),
            vec![
                ("a".into(), vec![0, 1]),
                ("b".into(), vec![2, 3]),
                ("c".into(), vec![4])
            ]
        );
        assert_eq!(
            map_ranks(&hosts, 3).unwrap(),
            vec![("a".into(), vec![0, 1]), ("b".into(), vec![2])]
        );
    }

    #[test]
    fn wraps_round_when_ranks_exceed_slots() {
        let hosts = [host("a", 1), host("b", 1)];
        assert_eq!(
            map_ranks(&hosts, 5).unwrap(),
            vec![("a".into(), vec![0, 2, 4]), ("b".into(), vec![1, 3])]
        );
    }

    #[test]
    fn bad_requests_are_errors() {
        assert!(map_ranks(&[], 0).is_err());
        assert!(map_ranks(&[host("a", 0)], 2).is_err());
    }
}
