//! The generator's random numbers: SplitMix64 (Steele, Lea & Flood 2014; the seeding generator
//! of xoshiro and of Java's `SplittableRandom`), written out here rather than taken from a crate
//! so that a seed gives the same city on every platform and with every dependency version
//! forever. Only IEEE-754 basic operations and `sqrt` (correctly rounded) are applied to its
//! output; no `ln`/`exp`/`powf`, whose last bits differ between math libraries.

/// A SplitMix64 stream.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 output function, also used to derive independent streams from a seed.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// The stream of one item (an enterprise index, a project) of one kind under a seed:
    /// items are generated independently, so any one can be regenerated without the others.
    pub fn stream(seed: u64, kind: u64, item: u64) -> Rng {
        Rng::new(mix(mix(seed ^ kind.wrapping_mul(GOLDEN)) ^ item))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        mix(self.state)
    }

    /// Uniform in [0, 1), from the top 53 bits.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [lo, hi).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform integer in 0..n (n > 0); the slight modulo bias is irrelevant here.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// Whether an event of probability `p` happens.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Triangular noise in (−w, w), mean 0: the sum of two uniforms, cheap and bounded.
    pub fn noise(&mut self, w: f64) -> f64 {
        w * (self.unit() + self.unit() - 1.0)
    }

    /// An index into `weights`, chosen in proportion to them.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        let mut x = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            if x < u64::from(*w) {
                return i;
            }
            x -= u64::from(*w);
        }
        weights.len().saturating_sub(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_published_splitmix64_vector() {
        // Seed 1234567, as in the reference implementation's test vector.
        let mut r = Rng::new(1_234_567);
        assert_eq!(r.next_u64(), 6_457_827_717_110_365_317);
        assert_eq!(r.next_u64(), 3_203_168_211_198_807_973);
        assert_eq!(r.next_u64(), 9_817_491_932_198_370_423);
    }

    #[test]
    fn streams_differ_and_repeat() {
        let a: Vec<u64> = (0..4).map(|_| Rng::stream(7, 1, 0).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(
            Rng::stream(7, 1, 0).next_u64(),
            Rng::stream(7, 1, 1).next_u64()
        );
        assert_ne!(
            Rng::stream(7, 1, 0).next_u64(),
            Rng::stream(7, 2, 0).next_u64()
        );
        let mut r = Rng::new(3);
        for _ in 0..1000 {
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
            assert!(r.noise(0.1).abs() < 0.1);
        }
    }
}
