//! When and how long to wait before sending a failed request again.
//!
//! This follows what the official Globus client does, so that gstage loads the service no more
//! than globus-cli would: transient answers (429, 500, 502, 503, 504, network failures) are
//! retried with a jittered exponential backoff `(0.25 + 0.5 * rand) * 2^attempt`, each sleep
//! capped at 10 s, `Retry-After` replacing the backoff for 429 and 503, at most 5 retries. The
//! budget is also bounded in total time, so a hook never hangs on a service that is down.
//! Which answers are transient is [`ApiError::is_transient`](super::ApiError::is_transient)'s
//! call: a 5xx about an endpoint (`ExternalError…`, `EndpointError…`) or one asking for a new
//! login is not retried.

use std::time::{Duration, Instant};

/// The retry budget of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The longest single sleep, `Retry-After` included.
    pub max_sleep: Duration,
    /// The longest time spent on one request, retries and sleeps included; no retry starts
    /// whose sleep would end after it.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            max_sleep: Duration::from_secs(10),
            max_elapsed: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// The backoff before retry number `attempt` (0 for the first retry), given a uniform
    /// random number `jitter` in `[0, 1)`.
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let factor = 2f64.powi(attempt.min(30) as i32);
        let secs = (0.25 + 0.5 * jitter.clamp(0.0, 1.0)) * factor;
        Duration::from_secs_f64(secs).min(self.max_sleep)
    }
}

/// Whether a failure may go away if the request is sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retryable {
    /// Do not send it again.
    No,
    /// Send it again, after the server's `Retry-After` if it gave one.
    Yes {
        /// The server's requested wait (429 and 503 only).
        retry_after: Option<Duration>,
    },
}

/// The retry budget spent so far by one request.
#[derive(Debug)]
pub struct RetryState {
    policy: RetryPolicy,
    retries: u32,
    started: Instant,
}

impl RetryState {
    /// Starts the clock for one request.
    pub fn new(policy: RetryPolicy) -> Self {
        RetryState {
            policy,
            retries: 0,
            started: Instant::now(),
        }
    }

    /// Retries made so far.
    pub fn retries(&self) -> u32 {
        self.retries
    }

    /// Time since the first attempt.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// How long to sleep before the next attempt, or `None` when the failure is not transient
    /// or the budget (count or time) is spent. Counts the retry when it returns `Some`.
    #[must_use]
    pub fn next_delay(&mut self, failure: Retryable) -> Option<Duration> {
        self.next_delay_with(failure, rand::random::<f64>())
    }

    /// [`next_delay`](Self::next_delay) with a given jitter, for tests.
    #[must_use]
    pub fn next_delay_with(&mut self, failure: Retryable, jitter: f64) -> Option<Duration> {
        let Retryable::Yes { retry_after } = failure else {
            return None;
        };
        if self.retries >= self.policy.max_retries {
            return None;
        }
        let delay = match retry_after {
            Some(d) => d.min(self.policy.max_sleep),
            None => self.policy.backoff(self.retries, jitter),
        };
        if self.started.elapsed() + delay > self.policy.max_elapsed {
            return None;
        }
        self.retries += 1;
        Some(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(0, 0.0), Duration::from_millis(250));
        assert_eq!(p.backoff(0, 1.0), Duration::from_millis(750));
        assert_eq!(p.backoff(1, 0.5), Duration::from_millis(1000));
        assert_eq!(p.backoff(3, 0.0), Duration::from_secs(2));
        assert_eq!(p.backoff(4, 1.0), Duration::from_secs(10));
        assert_eq!(p.backoff(60, 0.3), Duration::from_secs(10));
    }

    #[test]
    fn at_most_max_retries() {
        let mut s = RetryState::new(RetryPolicy {
            max_sleep: Duration::ZERO,
            ..RetryPolicy::default()
        });
        let yes = Retryable::Yes { retry_after: None };
        for _ in 0..5 {
            assert_eq!(s.next_delay_with(yes, 0.5), Some(Duration::ZERO));
        }
        assert_eq!(s.next_delay_with(yes, 0.5), None);
        assert_eq!(s.retries(), 5);
    }

    #[test]
    fn never_retries_what_is_not_transient() {
        let mut s = RetryState::new(RetryPolicy::default());
        assert_eq!(s.next_delay_with(Retryable::No, 0.5), None);
        assert_eq!(s.retries(), 0);
    }

    #[test]
    fn retry_after_replaces_the_backoff_up_to_the_cap() {
        let mut s = RetryState::new(RetryPolicy::default());
        let after = |secs| Retryable::Yes {
            retry_after: Some(Duration::from_secs(secs)),
        };
        assert_eq!(
            s.next_delay_with(after(3), 0.9),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            s.next_delay_with(after(600), 0.9),
            Some(Duration::from_secs(10))
        );
    }

    #[test]
    fn the_total_time_is_bounded_too() {
        let mut s = RetryState::new(RetryPolicy {
            max_elapsed: Duration::from_secs(5),
            ..RetryPolicy::default()
        });
        let after = Retryable::Yes {
            retry_after: Some(Duration::from_secs(6)),
        };
        assert_eq!(s.next_delay_with(after, 0.0), None);
        let quick = Retryable::Yes { retry_after: None };
        assert!(s.next_delay_with(quick, 0.0).is_some());
    }

    #[test]
    fn none_policy_never_retries() {
        let mut s = RetryState::new(RetryPolicy::none());
        assert_eq!(
            s.next_delay_with(Retryable::Yes { retry_after: None }, 0.0),
            None
        );
    }
}
