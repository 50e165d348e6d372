//! The one latency histogram layout used everywhere (memory, Redis, reads): logarithmic buckets
//! over microseconds, exact below 64 µs, then 32 linear sub-buckets per power of two.
//!
//! A bucket `[lo, hi)` is at most `lo / 32` wide, so its midpoint is within 1/64 (1.6 %) of any
//! value in it: percentiles read from the buckets are within 2 % of the exact value. Histograms
//! from several instances or days add bucket by bucket; percentiles are always computed from the
//! summed buckets.

use std::collections::BTreeMap;

const SUB_BITS: u32 = 5;
const SUB: u64 = 1 << SUB_BITS;
/// Values below this are their own bucket.
const LINEAR: u64 = 2 * SUB;
/// Larger durations (over 71 minutes) land in the last bucket.
pub const MAX_US: u64 = (1 << 32) - 1;
/// Number of buckets of the layout.
pub const BUCKETS: usize = bucket_of(MAX_US) + 1;

/// The bucket of a duration in microseconds.
pub const fn bucket_of(us: u64) -> usize {
    let v = if us > MAX_US { MAX_US } else { us };
    if v < LINEAR {
        return v as usize;
    }
    let e = 63 - v.leading_zeros() as u64; // >= 6
    let shift = e - SUB_BITS as u64;
    let sub = (v >> shift) - SUB;
    (LINEAR + (e - 6) * SUB + sub) as usize
}

/// The half-open range `[lo, hi)` of microseconds a bucket holds.
pub fn bucket_bounds(bucket: usize) -> (u64, u64) {
    let b = bucket as u64;
    if b < LINEAR {
        return (b, b + 1);
    }
    let e = (b - LINEAR) / SUB + 6;
    let sub = (b - LINEAR) % SUB + SUB;
    let shift = e - SUB_BITS as u64;
    (sub << shift, (sub + 1) << shift)
}

/// The value a bucket stands for: the middle of its range.
pub fn bucket_value(bucket: usize) -> f64 {
    let (lo, hi) = bucket_bounds(bucket);
    lo as f64 + (hi - lo - 1) as f64 / 2.0
}

/// A sparse histogram: bucket -> count. Its size depends on the distinct buckets, never on the
/// number of samples.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram {
    buckets: BTreeMap<u16, u64>,
}

impl Histogram {
    pub fn record(&mut self, us: u64) {
        self.add_bucket(bucket_of(us), 1);
    }

    pub fn add_bucket(&mut self, bucket: usize, count: u64) {
        if count > 0 && bucket < BUCKETS {
            *self.buckets.entry(bucket as u16).or_insert(0) += count;
        }
    }

    pub fn merge(&mut self, other: &Histogram) {
        for (&b, &n) in &other.buckets {
            *self.buckets.entry(b).or_insert(0) += n;
        }
    }

    pub fn total(&self) -> u64 {
        self.buckets.values().sum()
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// `(bucket, count)` in bucket order.
    pub fn iter(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.buckets.iter().map(|(&b, &n)| (usize::from(b), n))
    }

    /// The nearest-rank percentile (`p` in 0..=100), as the middle of the bucket holding it,
    /// clamped to the known minimum and maximum. None when empty.
    pub fn percentile(&self, p: f64, min: Option<u64>, max: Option<u64>) -> Option<f64> {
        let total = self.total();
        if total == 0 {
            return None;
        }
        let rank = ((p / 100.0) * total as f64).ceil().clamp(1.0, total as f64) as u64;
        let mut seen = 0;
        let mut value = None;
        for (b, n) in self.iter() {
            seen += n;
            if seen >= rank {
                value = Some(bucket_value(b));
                break;
            }
        }
        let mut v = value?;
        if let Some(min) = min {
            v = v.max(min as f64);
        }
        if let Some(max) = max {
            v = v.min(max as f64);
        }
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_contiguous_and_every_value_is_in_its_bucket() {
        assert_eq!(BUCKETS, 896);
        let mut expected_lo = 0;
        for b in 0..BUCKETS {
            let (lo, hi) = bucket_bounds(b);
            assert_eq!(lo, expected_lo, "bucket {b}");
            assert!(hi > lo);
            assert_eq!(bucket_of(lo), b);
            assert_eq!(bucket_of(hi - 1), b);
            // Midpoint within 1/64 of every value of the bucket.
            let mid = bucket_value(b);
            assert!((mid - lo as f64).abs() / (lo.max(1) as f64) <= 1.0 / 64.0 + 1e-12);
            assert!(((hi - 1) as f64 - mid).abs() / ((hi - 1).max(1) as f64) <= 1.0 / 64.0);
            expected_lo = hi;
        }
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    fn exact(sorted: &[u64], p: f64) -> f64 {
        let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
        sorted[rank - 1] as f64
    }

    #[test]
    fn percentiles_are_within_two_percent_of_exact_values() {
        // A deterministic heavy-tailed spread from 40 µs to several seconds.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut samples = Vec::new();
        let mut h = Histogram::default();
        for _ in 0..100_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let u = (state % 1_000_000) as f64 / 1_000_000.0;
            let v = (40.0 * (1.0 / (1.0 - u * 0.9999)).powf(1.6)) as u64;
            samples.push(v);
            h.record(v);
        }
        samples.sort_unstable();
        let (min, max) = (samples[0], samples[samples.len() - 1]);
        for p in [1.0, 50.0, 90.0, 95.0, 99.0, 99.9, 100.0] {
            let got = h.percentile(p, Some(min), Some(max)).unwrap();
            let want = exact(&samples, p);
            assert!(
                (got - want).abs() / want <= 0.02,
                "p{p}: {got} vs exact {want}"
            );
        }
    }

    #[test]
    fn merging_adds_counts() {
        let mut a = Histogram::default();
        let mut b = Histogram::default();
        for v in [5, 5, 900, 70_000] {
            a.record(v);
            b.record(v);
        }
        a.merge(&b);
        assert_eq!(a.total(), 8);
        assert_eq!(a.iter().next(), Some((5, 4)));
        assert_eq!(a.percentile(50.0, None, None), Some(5.0));
    }
}
