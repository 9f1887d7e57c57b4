//! Globus collections as the rest of gstage sees them: a typed id and a name for people.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The UUID of a Globus collection (the API still calls it an endpoint id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct CollectionId(uuid::Uuid);

impl CollectionId {
    /// Wraps a UUID.
    pub fn new(id: uuid::Uuid) -> Self {
        Self(id)
    }

    /// The UUID, for building API documents.
    pub fn uuid(&self) -> uuid::Uuid {
        self.0
    }
}

/// A string that is not a hyphenated UUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a collection UUID (expected the form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`)"
)]
pub struct InvalidCollectionId(pub String);

impl FromStr for CollectionId {
    type Err = InvalidCollectionId;

    /// Accepts the hyphenated form only, as Globus prints it: a bare 32-digit string in a path
    /// is more likely a typo than an id.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match uuid::Uuid::try_parse(s) {
            Ok(u) if s.len() == 36 => Ok(Self(u)),
            _ => Err(InvalidCollectionId(s.to_owned())),
        }
    }
}

impl TryFrom<String> for CollectionId {
    type Error = InvalidCollectionId;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<CollectionId> for String {
    fn from(id: CollectionId) -> Self {
        id.to_string()
    }
}

impl fmt::Display for CollectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// A collection with the name shown to people.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Collection {
    /// Its UUID.
    pub id: CollectionId,
    /// The name shown in plans and status (the config's `display_name`, else the alias).
    pub display_name: String,
}
