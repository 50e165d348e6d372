//! The figures kept per endpoint, tenant and day (`Stats`), and their stored form: one Redis
//! string written with BITFIELD increments, so instances add into the same key exactly.
//!
//! Layout (big-endian): four signed 64-bit counters (count, 4xx, 5xx, total µs) then one
//! unsigned 32-bit counter per histogram bucket (saturating). Minimum and maximum live in the
//! day's `min`/`max` sorted sets (ZADD LT/GT), which stay correct under concurrent writers.

use super::histogram::{Histogram, BUCKETS};

/// Bytes before the first bucket counter.
pub const HEADER_BYTES: usize = 32;
/// The bucket counters start at this index in units of u32 (`#n` in BITFIELD).
const FIRST_BUCKET_SLOT: usize = HEADER_BYTES / 4;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub count: u64,
    pub client_errors: u64,
    pub server_errors: u64,
    pub total_us: u64,
    pub min_us: Option<u64>,
    pub max_us: Option<u64>,
    pub histogram: Histogram,
}

impl Stats {
    pub fn record(&mut self, status: u16, duration_us: u64) {
        self.count += 1;
        match status {
            400..=499 => self.client_errors += 1,
            500..=599 => self.server_errors += 1,
            _ => {}
        }
        self.total_us = self.total_us.saturating_add(duration_us);
        self.min_us = Some(self.min_us.map_or(duration_us, |m| m.min(duration_us)));
        self.max_us = Some(self.max_us.map_or(duration_us, |m| m.max(duration_us)));
        self.histogram.record(duration_us);
    }

    pub fn merge(&mut self, other: &Stats) {
        self.count += other.count;
        self.client_errors += other.client_errors;
        self.server_errors += other.server_errors;
        self.total_us = self.total_us.saturating_add(other.total_us);
        self.min_us = match (self.min_us, other.min_us) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.max_us = match (self.max_us, other.max_us) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        self.histogram.merge(&other.histogram);
    }

    pub fn errors(&self) -> u64 {
        self.client_errors + self.server_errors
    }

    /// The BITFIELD arguments (after the key) adding these figures to a stored value.
    pub fn bitfield_args(&self) -> Vec<String> {
        let mut args: Vec<String> = vec!["OVERFLOW".into(), "WRAP".into()];
        let header = [
            self.count,
            self.client_errors,
            self.server_errors,
            self.total_us,
        ];
        for (i, v) in header.iter().enumerate() {
            if *v > 0 {
                args.extend([
                    "INCRBY".into(),
                    "i64".into(),
                    format!("#{i}"),
                    v.to_string(),
                ]);
            }
        }
        args.extend(["OVERFLOW".into(), "SAT".into()]);
        for (b, n) in self.histogram.iter() {
            let n = n.min(u64::from(u32::MAX));
            let slot = FIRST_BUCKET_SLOT + b;
            args.extend([
                "INCRBY".into(),
                "u32".into(),
                format!("#{slot}"),
                n.to_string(),
            ]);
        }
        args
    }

    /// Reads a stored value (missing bytes are zeros). Min and max come from elsewhere.
    pub fn decode(bytes: &[u8]) -> Stats {
        let word = |i: usize| -> u64 {
            let mut b = [0u8; 8];
            for (j, slot) in b.iter_mut().enumerate() {
                *slot = bytes.get(i * 8 + j).copied().unwrap_or(0);
            }
            i64::from_be_bytes(b).max(0) as u64
        };
        let mut histogram = Histogram::default();
        let body = bytes.get(HEADER_BYTES..).unwrap_or(&[]);
        for (b, chunk) in body.chunks(4).enumerate().take(BUCKETS) {
            let mut w = [0u8; 4];
            w[..chunk.len()].copy_from_slice(chunk);
            histogram.add_bucket(b, u64::from(u32::from_be_bytes(w)));
        }
        Stats {
            count: word(0),
            client_errors: word(1),
            server_errors: word(2),
            total_us: word(3),
            min_us: None,
            max_us: None,
            histogram,
        }
    }
}

/// Per tenant and day: counts per endpoint, as u32 counters indexed by the endpoint's number
/// in the day's endpoint registry (assigned inside the flush script).
pub fn decode_counts(bytes: &[u8]) -> Vec<u64> {
    bytes
        .chunks(4)
        .map(|c| {
            let mut w = [0u8; 4];
            w[..c.len()].copy_from_slice(c);
            u64::from(u32::from_be_bytes(w))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_counts_classes_and_extremes() {
        let mut s = Stats::default();
        for (status, us) in [(200, 10), (404, 30), (503, 20), (200, 10)] {
            s.record(status, us);
        }
        assert_eq!((s.count, s.client_errors, s.server_errors), (4, 1, 1));
        assert_eq!((s.total_us, s.min_us, s.max_us), (70, Some(10), Some(30)));
        assert_eq!(s.histogram.total(), 4);
        let args = s.bitfield_args();
        assert_eq!(&args[..6], ["OVERFLOW", "WRAP", "INCRBY", "i64", "#0", "4"]);
        // bucket 10 holds 2 samples: slot 8 + 10.
        assert!(args.windows(4).any(|w| w == ["INCRBY", "u32", "#18", "2"]));
    }

    #[test]
    fn decode_reads_the_layout() {
        let mut bytes = vec![0u8; HEADER_BYTES + 4 * 11];
        bytes[7] = 3; // count
        bytes[15] = 1; // 4xx
        bytes[31] = 200; // total
        bytes[HEADER_BYTES + 4 * 10 + 3] = 3; // bucket 10
        let s = Stats::decode(&bytes);
        assert_eq!(
            (s.count, s.client_errors, s.server_errors, s.total_us),
            (3, 1, 0, 200)
        );
        assert_eq!(s.histogram.iter().collect::<Vec<_>>(), vec![(10, 3)]);
        assert_eq!(Stats::decode(&[]), Stats::default());
        assert_eq!(decode_counts(&[0, 0, 0, 2, 0, 0, 1]), vec![2, 256]);
    }
}
