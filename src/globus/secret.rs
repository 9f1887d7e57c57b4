//! Secret strings (tokens, client secrets, authorization codes) that cannot leak by accident.
//!
//! Each secret is a newtype whose `Debug` and `Display` print `****`, so that a token held in any
//! struct stays out of logs, error messages and `{:?}` output. The text is reachable only through
//! [`expose`](AccessToken::expose), which is called where the secret goes on the wire or to disk.

use serde::{Deserialize, Serialize};

macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Wraps a secret.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The secret text itself, for the wire or the token store only.
            pub fn expose(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, concat!(stringify!($name), "(****)"))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("****")
            }
        }
    };
}

secret_type!(
    /// A bearer token sent to Globus Auth or Transfer.
    AccessToken
);
secret_type!(
    /// A long-lived token that buys new access tokens; may rotate on every use.
    RefreshToken
);
secret_type!(
    /// A confidential client's secret (`GSTAGE_CLIENT_SECRET`).
    ClientSecret
);
secret_type!(
    /// A one-time authorization code pasted by the user after the browser step.
    AuthCode
);
secret_type!(
    /// The PKCE code verifier kept between the authorize URL and the code exchange.
    CodeVerifier
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_text() {
        let t = AccessToken::new("AT-very-secret");
        assert_eq!(format!("{t}"), "****");
        assert_eq!(format!("{t:?}"), "AccessToken(****)");
        assert_eq!(t.expose(), "AT-very-secret");
        let r = RefreshToken::new("RT-very-secret");
        assert!(!format!("{r:?} {r}").contains("very-secret"));
    }

    #[test]
    fn serializes_as_a_plain_string() {
        let r = RefreshToken::new("RT-1");
        assert_eq!(serde_json::to_string(&r).unwrap(), "\"RT-1\"");
        let back: RefreshToken = serde_json::from_str("\"RT-1\"").unwrap();
        assert_eq!(back, r);
    }
}
