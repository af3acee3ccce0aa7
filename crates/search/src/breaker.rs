//! A circuit breaker around the search backend: after a run of failures it
//! stops calling the backend for a while, so a sick cluster is not hammered
//! and shoppers get the degraded answer at once instead of after a timeout.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Consecutive failures that open the circuit.
pub const FAILURES_TO_OPEN: u32 = 5;
/// How long the circuit stays open before one trial call is let through.
pub const OPEN_FOR: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Calls go through.
    Closed,
    /// Calls are refused until the given time.
    Open { until: Instant },
    /// One trial call is out; others are refused until it ends.
    HalfOpen,
}

#[derive(Debug)]
pub struct CircuitBreaker {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: State,
    failures: u32,
}

impl Default for CircuitBreaker {
    fn default() -> Self {
        Self {
            inner: Mutex::new(Inner {
                state: State::Closed,
                failures: 0,
            }),
        }
    }
}

impl CircuitBreaker {
    /// Whether a call may go out now (`now` is injectable for tests).
    pub fn allow(&self, now: Instant) -> bool {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        match inner.state {
            State::Closed => true,
            State::Open { until } if now >= until => {
                inner.state = State::HalfOpen;
                true
            }
            State::Open { .. } | State::HalfOpen => false,
        }
    }

    pub fn succeeded(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.state = State::Closed;
        inner.failures = 0;
    }

    pub fn failed(&self, now: Instant) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.failures += 1;
        if inner.state == State::HalfOpen || inner.failures >= FAILURES_TO_OPEN {
            inner.state = State::Open { until: now + OPEN_FOR };
        }
    }

    pub fn state(&self) -> State {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_a_run_of_failures_and_retries_once_after_the_pause() {
        let breaker = CircuitBreaker::default();
        let t0 = Instant::now();
        for _ in 0..FAILURES_TO_OPEN - 1 {
            assert!(breaker.allow(t0));
            breaker.failed(t0);
        }
        assert_eq!(breaker.state(), State::Closed);
        breaker.failed(t0);
        assert!(!breaker.allow(t0 + Duration::from_secs(1)), "open: refused");

        let later = t0 + OPEN_FOR;
        assert!(breaker.allow(later), "one trial after the pause");
        assert!(!breaker.allow(later), "only one");
        breaker.failed(later);
        assert!(
            !breaker.allow(later + Duration::from_secs(1)),
            "a failed trial opens it again"
        );

        let much_later = later + OPEN_FOR;
        assert!(breaker.allow(much_later));
        breaker.succeeded();
        assert_eq!(breaker.state(), State::Closed);
        assert!(breaker.allow(much_later));
    }

    #[test]
    fn a_success_resets_the_count() {
        let breaker = CircuitBreaker::default();
        let now = Instant::now();
        for _ in 0..FAILURES_TO_OPEN - 1 {
            breaker.failed(now);
        }
        breaker.succeeded();
        breaker.failed(now);
        assert_eq!(breaker.state(), State::Closed);
    }
}
