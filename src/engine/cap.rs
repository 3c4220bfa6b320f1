//! Bounded state maps: how every capped map in the engine sheds what is over its cap.
//!
//! Owns one policy, "forget the entries seen longest ago", so that the rule book, the flap
//! tracker and the re-send memory shed alike. Must not: decide caps or count what was shed
//! for metrics (each owner does, since each reports its own counter).

use std::hash::Hash;

use rustc_hash::FxHashMap;

/// Over `cap`: removes the entries whose `age` is smallest (oldest first; ties by key, so
/// the choice is deterministic), at least `min_batch` of them, so that a map kept at its
/// cap does not sort itself on every insert. Returns how many were removed.
pub fn shed_oldest<K, V, A>(
    map: &mut FxHashMap<K, V>,
    cap: usize,
    min_batch: usize,
    age: impl Fn(&V) -> A,
) -> u64
where
    K: Copy + Ord + Hash + Eq,
    A: Ord,
{
    if map.len() <= cap {
        return 0;
    }
    let n = (map.len() - cap).max(min_batch);
    let mut by_age: Vec<(A, K)> = map.iter().map(|(k, v)| (age(v), *k)).collect();
    by_age.sort_unstable();
    for (_, k) in by_age.iter().take(n) {
        map.remove(k);
    }
    n as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheds_the_oldest_down_to_the_cap_or_a_batch() {
        let mut m: FxHashMap<u32, i64> = (0..10u32).map(|k| (k, 100 - i64::from(k))).collect();
        assert_eq!(shed_oldest(&mut m, 10, 0, |v| *v), 0, "at the cap");
        assert_eq!(shed_oldest(&mut m, 8, 0, |v| *v), 2);
        assert!(!m.contains_key(&9) && !m.contains_key(&8), "the two oldest");
        assert_eq!(
            shed_oldest(&mut m, 7, 3, |v| *v),
            3,
            "a batch of at least 3"
        );
        assert_eq!(m.len(), 5);
    }
}
