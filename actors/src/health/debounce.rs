//! Debounces the healthy/degraded decision of a latency-based check.
//!
//! A hard failure shows at once; a switch between healthy and degraded needs `needed`
//! consecutive samples on the other side of the threshold, so latency hovering near the
//! threshold does not flip the status every cycle.

use std::time::Duration;

use super::report::Status;

#[derive(Debug, Clone)]
pub struct Debounce {
    threshold: Duration,
    needed: u32,
    current: Status,
    streak: u32,
}

impl Debounce {
    pub fn new(threshold: Duration, needed: u32) -> Self {
        Self {
            threshold,
            needed: needed.max(1),
            current: Status::Healthy,
            streak: 0,
        }
    }

    /// Feed one probe result (`None` latency = failure); returns the debounced status.
    pub fn observe(&mut self, ok: bool, latency: Option<Duration>) -> Status {
        if !ok {
            self.current = Status::Unhealthy;
            self.streak = 0;
            return self.current;
        }
        let sample = match latency {
            Some(l) if l >= self.threshold => Status::Degraded,
            _ => Status::Healthy,
        };
        if self.current == Status::Unhealthy {
            // Recovering from a failure: take the sample as it is.
            self.current = sample;
            self.streak = 0;
        } else if sample == self.current {
            self.streak = 0;
        } else {
            self.streak += 1;
            if self.streak >= self.needed {
                self.current = sample;
                self.streak = 0;
            }
        }
        self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Option<Duration> {
        Some(Duration::from_millis(v))
    }

    #[test]
    fn hovering_latency_does_not_flip_every_cycle() {
        let mut d = Debounce::new(Duration::from_millis(200), 2);
        let seen: Vec<Status> = [190, 210, 190, 210, 195, 205]
            .iter()
            .map(|&v| d.observe(true, ms(v)))
            .collect();
        assert!(seen.iter().all(|s| *s == Status::Healthy), "{seen:?}");
    }

    #[test]
    fn sustained_slowness_degrades_and_recovers() {
        let mut d = Debounce::new(Duration::from_millis(200), 2);
        assert_eq!(d.observe(true, ms(250)), Status::Healthy);
        assert_eq!(d.observe(true, ms(250)), Status::Degraded);
        assert_eq!(d.observe(true, ms(10)), Status::Degraded);
        assert_eq!(d.observe(true, ms(10)), Status::Healthy);
    }

    #[test]
    fn a_hard_failure_shows_in_one_cycle() {
        let mut d = Debounce::new(Duration::from_millis(200), 2);
        assert_eq!(d.observe(true, ms(5)), Status::Healthy);
        assert_eq!(d.observe(false, None), Status::Unhealthy);
        assert_eq!(d.observe(true, ms(5)), Status::Healthy);
    }
}
