//! Injected faults: which requests fail, how, and how often.
//!
//! A rule matches by method and path prefix and fires for the next N matching requests, with a
//! probability (drawn from a seeded generator, so runs repeat), or always. The first rule that
//! fires decides; control calls under `/_emulator/` are never faulted.

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// How a request fails.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// 429 with a `Retry-After` header.
    RateLimit {
        /// Seconds in `Retry-After`.
        retry_after: u64,
    },
    /// A bare server error: 500, 502, 503 or 504.
    Status {
        /// The HTTP status.
        status: u16,
    },
    /// The connection is reset without an answer.
    ConnectionReset,
    /// The answer is delayed, then given normally.
    Stall {
        /// Seconds to wait.
        seconds: f64,
    },
    /// The request is served, then its answer held back: the client sees nothing while the
    /// work is done (a lost answer, for crash tests between submitting and recording).
    StallAnswer {
        /// Seconds to hold the answer.
        seconds: f64,
    },
    /// 403 `ConsentRequired` for `data_access` on these collections (empty: the one in the path).
    ConsentRequired {
        /// Collections whose consent is "missing".
        #[serde(default)]
        collections: Vec<Uuid>,
    },
    /// 403 `AuthPolicyFailed` naming these policies.
    AuthPolicyFailed {
        /// Policy ids.
        #[serde(default)]
        policies: Vec<String>,
    },
    /// 502 `ExternalError.DirListingFailed.LoginFailed` asking for a session in `domain`.
    LoginFailed {
        /// Domain the session must include.
        domain: String,
    },
    /// 401 as for an expired access token.
    ExpiredToken,
    /// The request is served (a submission is accepted), then the connection is reset before
    /// the answer arrives: the client cannot know whether it worked.
    ResetAfter,
    /// 200 with a body that is not JSON (a document cut off in the middle).
    MalformedJson,
    /// The real answer with every top-level value swapped for one of another type
    /// (`"task_id": 42`, `"DATA": "not a list"`).
    WrongTypes,
    /// 200 with a body of `bytes` bytes that never ends its JSON.
    HugeBody {
        /// The body's size.
        bytes: u64,
        /// Whether `Content-Length` announces the size (otherwise the body is chunked).
        #[serde(default)]
        declared: bool,
    },
    /// This status with no body and no headers: 418, a 302 without `Location`, a 204 where
    /// JSON is expected.
    BareStatus {
        /// The HTTP status.
        status: u16,
    },
    /// The real answer, trickled out `bytes_per_second` bytes at a time.
    SlowDrip {
        /// The rate (at least 1).
        #[serde(default = "one")]
        bytes_per_second: u64,
    },
    /// 302 to another host; `Location` defaults to `http://198.51.100.1` plus the request path.
    Redirect {
        /// Where to send the client.
        #[serde(default)]
        location: Option<String>,
    },
}

fn one() -> u64 {
    1
}

impl Fault {
    /// A short name for logs and counters.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::RateLimit { .. } => "rate_limit",
            Self::Status { .. } => "status",
            Self::ConnectionReset => "connection_reset",
            Self::Stall { .. } => "stall",
            Self::StallAnswer { .. } => "stall_answer",
            Self::ConsentRequired { .. } => "consent_required",
            Self::AuthPolicyFailed { .. } => "auth_policy_failed",
            Self::LoginFailed { .. } => "login_failed",
            Self::ExpiredToken => "expired_token",
            Self::ResetAfter => "reset_after",
            Self::MalformedJson => "malformed_json",
            Self::WrongTypes => "wrong_types",
            Self::HugeBody { .. } => "huge_body",
            Self::BareStatus { .. } => "bare_status",
            Self::SlowDrip { .. } => "slow_drip",
            Self::Redirect { .. } => "redirect",
        }
    }
}

/// When and where a fault fires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// The fault.
    pub fault: Fault,
    /// Only this method (any when absent).
    #[serde(default)]
    pub method: Option<String>,
    /// Only paths starting with this (such as `/v0.10/task/`); `/` matches everything.
    #[serde(default = "root")]
    pub path_prefix: String,
    /// Fire for the next N matching requests only.
    #[serde(default)]
    pub count: Option<u32>,
    /// Fire with this probability (0..=1) on each matching request.
    #[serde(default)]
    pub probability: Option<f64>,
}

fn root() -> String {
    "/".to_owned()
}

impl FaultRule {
    /// A rule firing on every request until narrowed with [`FaultRule::on`],
    /// [`FaultRule::times`] or [`FaultRule::probability`].
    #[must_use]
    pub fn new(fault: Fault) -> Self {
        Self {
            fault,
            method: None,
            path_prefix: root(),
            count: None,
            probability: None,
        }
    }

    /// Limits the rule to one method (`"GET"`, `"POST"`, or `"*"` for any) and a path prefix.
    #[must_use]
    pub fn on(mut self, method: &str, path_prefix: &str) -> Self {
        self.method = (method != "*").then(|| method.to_ascii_uppercase());
        path_prefix.clone_into(&mut self.path_prefix);
        self
    }

    /// Fires for the next `n` matching requests only.
    #[must_use]
    pub fn times(mut self, n: u32) -> Self {
        self.count = Some(n);
        self
    }

    /// Fires with probability `p` per matching request.
    #[must_use]
    pub fn probability(mut self, p: f64) -> Self {
        self.probability = Some(p);
        self
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && path.starts_with(&self.path_prefix)
    }
}

/// The transient faults of a fault soak and the share of all requests each one takes (20 % in
/// all): what a busy Globus and the networks between it and a cluster do to a client.
#[must_use]
pub fn transient_mix() -> Vec<(Fault, f64)> {
    vec![
        (Fault::RateLimit { retry_after: 1 }, 0.04),
        (Fault::Status { status: 500 }, 0.02),
        (Fault::Status { status: 502 }, 0.02),
        (Fault::Status { status: 503 }, 0.03),
        (Fault::ConnectionReset, 0.03),
        (Fault::ResetAfter, 0.03),
        (Fault::Stall { seconds: 5.0 }, 0.03),
    ]
}

/// Rules that fire with the given shares of all requests. The first rule that fires decides, so
/// each rule's probability is its share of what the rules before it left.
#[must_use]
pub fn rules_for_shares(mix: Vec<(Fault, f64)>) -> Vec<FaultRule> {
    let mut left = 1.0;
    mix.into_iter()
        .map(|(fault, share)| {
            let p = if left > 0.0 { share / left } else { 0.0 };
            left -= share;
            FaultRule::new(fault).probability(p)
        })
        .collect()
}

/// The live rules and the generator behind probabilities.
pub(crate) struct FaultState {
    rules: Vec<FaultRule>,
    rng: StdRng,
}

impl FaultState {
    pub(crate) fn new(seed: u64, rules: Vec<FaultRule>) -> Self {
        Self {
            rules,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    pub(crate) fn add(&mut self, rule: FaultRule) {
        self.rules.push(rule);
    }

    pub(crate) fn clear(&mut self) {
        self.rules.clear();
    }

    pub(crate) fn reseed(&mut self, seed: u64) {
        self.rng = StdRng::seed_from_u64(seed);
    }

    /// The fault for this request, if a rule fires; spends one use of a counted rule.
    pub(crate) fn pick(&mut self, method: &str, path: &str) -> Option<Fault> {
        use rand::RngExt;
        let mut fired = None;
        for (i, rule) in self.rules.iter_mut().enumerate() {
            if !rule.matches(method, path) || rule.count == Some(0) {
                continue;
            }
            if let Some(p) = rule.probability
                && !self.rng.random_bool(p.clamp(0.0, 1.0))
            {
                continue;
            }
            if let Some(n) = rule.count.as_mut() {
                *n -= 1;
            }
            fired = Some((i, rule.fault.clone()));
            break;
        }
        let (index, fault) = fired?;
        if self.rules.get(index).and_then(|r| r.count) == Some(0) {
            self.rules.remove(index);
        }
        Some(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_rule_fires_exactly_n_times_on_matching_routes() {
        let mut state = FaultState::new(
            1,
            vec![
                FaultRule::new(Fault::Status { status: 503 })
                    .on("GET", "/v0.10/task/")
                    .times(2),
            ],
        );
        assert_eq!(state.pick("POST", "/v0.10/task/x"), None);
        assert_eq!(state.pick("GET", "/v0.10/task_list"), None);
        assert!(state.pick("GET", "/v0.10/task/x").is_some());
        assert!(state.pick("get", "/v0.10/task/y").is_some());
        assert_eq!(state.pick("GET", "/v0.10/task/x"), None);
    }

    #[test]
    fn probability_is_reproducible_from_the_seed() {
        let rule = FaultRule::new(Fault::ConnectionReset).probability(0.5);
        let draw = |seed| {
            let mut state = FaultState::new(seed, vec![rule.clone()]);
            (0..64)
                .map(|_| state.pick("GET", "/x").is_some())
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        let fired = draw(7).iter().filter(|f| **f).count();
        assert!(fired > 0 && fired < 64, "p=0.5 fired {fired} of 64");
    }

    #[test]
    fn first_matching_rule_wins_and_uncounted_rules_persist() {
        let mut state = FaultState::new(
            0,
            vec![
                FaultRule::new(Fault::ExpiredToken)
                    .on("*", "/v0.10/")
                    .times(1),
                FaultRule::new(Fault::RateLimit { retry_after: 3 }),
            ],
        );
        assert_eq!(
            state.pick("GET", "/v0.10/task_list"),
            Some(Fault::ExpiredToken)
        );
        for _ in 0..3 {
            assert_eq!(
                state.pick("GET", "/v0.10/task_list"),
                Some(Fault::RateLimit { retry_after: 3 })
            );
        }
    }

    #[test]
    fn rules_deserialize_from_toml() {
        let rule: FaultRule = toml::from_str(
            "method = \"POST\"\npath_prefix = \"/v0.10/transfer\"\ncount = 1\n[fault]\nkind = \"rate_limit\"\nretry_after = 2\n",
        )
        .expect("valid rule");
        assert_eq!(
            rule,
            FaultRule::new(Fault::RateLimit { retry_after: 2 })
                .on("POST", "/v0.10/transfer")
                .times(1)
        );
    }
}
