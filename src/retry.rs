//! Retry with exponential backoff and jitter, retrying only errors the caller calls retryable.

use std::future::Future;
use std::time::Duration;

use rand::Rng;

#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub attempts: u32,
    pub initial: Duration,
    pub max: Duration,
    pub factor: f64,
    /// Fraction of each delay that is randomised (0.0–1.0).
    pub jitter: f64,
}

impl Backoff {
    /// The delay before retry number `n` (1-based), without jitter.
    pub fn base_delay(&self, n: u32) -> Duration {
        let exp = self.factor.powi(n.saturating_sub(1) as i32);
        self.initial.mul_f64(exp).min(self.max)
    }

    fn delay(&self, n: u32) -> Duration {
        let base = self.base_delay(n);
        let jitter = self.jitter.clamp(0.0, 1.0);
        if jitter == 0.0 || base.is_zero() {
            return base;
        }
        let scale = rand::rng().random_range((1.0 - jitter)..=1.0);
        base.mul_f64(scale)
    }
}

/// Run `op` up to `backoff.attempts` times. An error for which `retryable` is false is
/// returned at once; the last error is returned when attempts run out.
pub async fn retry<T, E, F, Fut>(
    backoff: Backoff,
    mut op: F,
    retryable: impl Fn(&E) -> bool,
) -> Result<T, E>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let attempts = backoff.attempts.max(1);
    let mut n = 1;
    loop {
        match op(n).await {
            Ok(v) => return Ok(v),
            Err(e) if n >= attempts || !retryable(&e) => return Err(e),
            Err(_) => {
                tokio::time::sleep(backoff.delay(n)).await;
                n += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn quick(attempts: u32) -> Backoff {
        Backoff {
            attempts,
            initial: Duration::from_millis(1),
            max: Duration::from_millis(4),
            factor: 2.0,
            jitter: 0.5,
        }
    }

    #[actix_rt::test]
    async fn retries_retryable_errors_until_success() {
        let calls = Cell::new(0);
        let out: Result<u32, &str> = retry(
            quick(5),
            |n| {
                calls.set(calls.get() + 1);
                async move {
                    if n < 3 {
                        Err("transient")
                    } else {
                        Ok(n)
                    }
                }
            },
            |_| true,
        )
        .await;
        assert_eq!(out, Ok(3));
        assert_eq!(calls.get(), 3);
    }

    #[actix_rt::test]
    async fn stops_at_once_on_a_permanent_error() {
        let calls = Cell::new(0);
        let out: Result<(), &str> = retry(
            quick(5),
            |_| {
                calls.set(calls.get() + 1);
                async { Err("bad password") }
            },
            |e| *e != "bad password",
        )
        .await;
        assert_eq!(out, Err("bad password"));
        assert_eq!(calls.get(), 1);
    }

    #[actix_rt::test]
    async fn gives_up_after_the_attempt_limit() {
        let calls = Cell::new(0);
        let out: Result<(), &str> = retry(
            quick(3),
            |_| {
                calls.set(calls.get() + 1);
                async { Err("refused") }
            },
            |_| true,
        )
        .await;
        assert!(out.is_err());
        assert_eq!(calls.get(), 3);
    }

    #[test]
    fn delays_grow_exponentially_up_to_the_cap() {
        let b = quick(10);
        assert_eq!(b.base_delay(1), Duration::from_millis(1));
        assert_eq!(b.base_delay(2), Duration::from_millis(2));
        assert_eq!(b.base_delay(3), Duration::from_millis(4));
        assert_eq!(b.base_delay(9), Duration::from_millis(4));
    }
}
