//! Seeded random streams. Every part of the output (the structure, each partition of patients,
//! the report database, the surveillance series) draws from its own stream derived from the seed,
//! a domain and an index, so the output does not depend on thread count or scheduling.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub type Rng = ChaCha8Rng;

/// SplitMix64: spreads (seed, domain, index) over the 256-bit ChaCha key.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub fn stream(seed: u64, domain: &str, index: u64) -> Rng {
    // FNV-1a of the domain name keeps streams of different parts apart.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in domain.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    let mut state = seed ^ h.rotate_left(17) ^ index.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    let mut key = [0u8; 32];
    for chunk in key.chunks_mut(8) {
        chunk.copy_from_slice(&splitmix(&mut state).to_le_bytes());
    }
    ChaCha8Rng::from_seed(key)
}

/// Index drawn with probability proportional to `weights` (all finite, not all zero).
pub fn weighted(rng: &mut Rng, weights: &[f64]) -> usize {
    use rand::Rng as _;
    let total: f64 = weights.iter().sum();
    let mut x = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.iter().rposition(|w| *w > 0.0).unwrap_or(0)
}

/// Cumulative weights for repeated draws by binary search.
#[derive(Debug, Clone)]
pub struct Table {
    cumulative: Vec<f64>,
}

impl Table {
    pub fn new(weights: impl IntoIterator<Item = f64>) -> Table {
        let mut total = 0.0;
        let cumulative = weights
            .into_iter()
            .map(|w| {
                total += w;
                total
            })
            .collect();
        Table { cumulative }
    }

    pub fn is_empty(&self) -> bool {
        self.cumulative.last().is_none_or(|t| *t <= 0.0)
    }

    pub fn draw(&self, rng: &mut Rng) -> usize {
        use rand::Rng as _;
        let total = *self.cumulative.last().expect("a non-empty table");
        let x = rng.random::<f64>() * total;
        self.cumulative
            .partition_point(|c| *c <= x)
            .min(self.cumulative.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng as _;

    #[test]
    fn streams_differ_by_domain_and_index_and_repeat_by_seed() {
        let a: u64 = stream(7, "patients", 0).random();
        assert_eq!(a, stream(7, "patients", 0).random::<u64>());
        assert_ne!(a, stream(7, "patients", 1).random::<u64>());
        assert_ne!(a, stream(7, "faers", 0).random::<u64>());
        assert_ne!(a, stream(8, "patients", 0).random::<u64>());
    }

    #[test]
    fn a_table_never_draws_a_zero_weight() {
        let table = Table::new([0.0, 1.0, 0.0, 2.0]);
        let mut rng = stream(1, "t", 0);
        for _ in 0..1000 {
            let i = table.draw(&mut rng);
            assert!(i == 1 || i == 3);
        }
    }
}
