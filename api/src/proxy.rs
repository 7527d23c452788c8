//! A proxy instance's identity and settings, as `status` shows them.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The SQL dialect a database speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    Postgres,
    Mysql,
    Cockroach,
}

impl Dialect {
    pub const ALL: [Dialect; 3] = [Dialect::Postgres, Dialect::Mysql, Dialect::Cockroach];

    /// The value used in flags and configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Postgres => "postgres",
            Dialect::Mysql => "mysql",
            Dialect::Cockroach => "cockroach",
        }
    }

    /// The product name shown in tables.
    pub fn display_name(self) -> &'static str {
        match self {
            Dialect::Postgres => "PostgreSQL",
            Dialect::Mysql => "MySQL",
            Dialect::Cockroach => "Cockroach",
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Dialect {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" => Ok(Dialect::Postgres),
            "mysql" | "mariadb" => Ok(Dialect::Mysql),
            "cockroach" | "cockroachdb" | "crdb" => Ok(Dialect::Cockroach),
            other => Err(format!(
                "unknown dialect '{other}' (expected postgres, mysql or cockroach)"
            )),
        }
    }
}

/// How a proxy mirrors traffic to the database that is not the source of truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ShadowMode {
    None,
    Async,
    Sync,
    StrictSync,
}

impl ShadowMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ShadowMode::None => "none",
            ShadowMode::Async => "async",
            ShadowMode::Sync => "sync",
            ShadowMode::StrictSync => "strict-sync",
        }
    }
}

impl fmt::Display for ShadowMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ShadowMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Ok(ShadowMode::None),
            "async" => Ok(ShadowMode::Async),
            "sync" => Ok(ShadowMode::Sync),
            "strict-sync" | "strict_sync" => Ok(ShadowMode::StrictSync),
            other => Err(format!(
                "unknown shadow mode '{other}' (expected none, async, sync or strict-sync)"
            )),
        }
    }
}

/// Which of the two configured databases currently serves reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceOfTruth {
    Source,
    Target,
}

impl SourceOfTruth {
    pub fn other(self) -> Self {
        match self {
            SourceOfTruth::Source => SourceOfTruth::Target,
            SourceOfTruth::Target => SourceOfTruth::Source,
        }
    }
}

impl fmt::Display for SourceOfTruth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SourceOfTruth::Source => "source",
            SourceOfTruth::Target => "target",
        })
    }
}

/// `GET /api/v1/status` of a proxy. Addresses never carry credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyStatus {
    pub version: String,
    /// The SQL address clients and other components use for this instance.
    pub lms_address: String,
    /// The admin/metrics HTTP address.
    pub admin_address: String,
    pub source_dialect: Dialect,
    pub target_dialect: Dialect,
    pub shadow_mode: ShadowMode,
    /// `host:port` of the source database.
    pub source_address: String,
    /// `host:port` of the target database.
    pub target_address: String,
    pub source_of_truth: SourceOfTruth,
    /// The dialect of the database that is the source of truth now.
    pub source_of_truth_dialect: Dialect,
    /// True while a cutover holds traffic on this instance.
    pub transitioning: bool,
    /// True once a shutdown has begun: no new connections are accepted.
    pub draining: bool,
    pub open_connections: u64,
    #[serde(default)]
    pub error: String,
}

/// One proxy's status as the orchestrator fetched it, or why it could not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyStatusRow {
    pub lms_address: String,
    pub status: Option<ProxyStatus>,
    #[serde(default)]
    pub error: String,
}

#[cfg(test)]
mod tests;
