//! The JSON body of every non-2xx REST answer.

use serde::{Deserialize, Serialize};

/// A REST error: a stable machine-readable `code` and a human sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: String,
    pub error: String,
}

impl ApiError {
    pub fn new(code: impl Into<String>, error: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            error: error.into(),
        }
    }
}
