//! The statements a MySQL client sends about its session rather than its data: drivers
//! send them on connect (`SELECT @@version_comment`, `SET NAMES utf8mb4`, `SHOW
//! VARIABLES`, `SET autocommit=0`), and a PostgreSQL-protocol database would refuse most
//! of them. The gateway answers them itself, from the table below, as a MySQL server
//! would; anything not recognised here goes to the database as written.
//!
//! | Statement | Answer |
//! | --- | --- |
//! | `SET autocommit = 0/1/ON/OFF` | kept by the gateway: with 0 it opens a transaction before the next statement, as MySQL does; 1 inside a transaction commits it |
//! | `SET NAMES …`, `SET CHARACTER SET …`, `SET [SESSION] <var> = …` for the variables in [`IGNORED`] | OK; the connection always speaks utf8mb4 |
//! | `SET [SESSION] TRANSACTION ISOLATION LEVEL …` | run as `SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL …` |
//! | `SELECT @@var [, @@session.var …] [LIMIT n]` | one row from [`Vars::get`]; an unknown variable is MySQL's error 1193 |
//! | `SELECT DATABASE()` | the session's database |
//! | `SHOW [SESSION] VARIABLES [LIKE '…']` | the variable table |
//! | `SHOW WARNINGS` | an empty list (the gateway never reports warnings) |
//! | `USE db` | recorded as the session's database (see `COM_INIT_DB`) |
//! | `START TRANSACTION WITH CONSISTENT SNAPSHOT` | `START TRANSACTION` |

/// Session variables accepted by `SET` and otherwise ignored: they tune what MySQL does
/// (character sets, timeouts, SQL modes) and have no PostgreSQL counterpart the gateway
/// could honour; refusing them would fail every driver's connect.
pub(crate) const IGNORED: &[&str] = &[
    "character_set_client",
    "character_set_connection",
    "character_set_results",
    "character_set_database",
    "collation_connection",
    "collation_database",
    "sql_mode",
    "time_zone",
    "wait_timeout",
    "interactive_timeout",
    "net_read_timeout",
    "net_write_timeout",
    "net_buffer_length",
    "max_execution_time",
    "sql_select_limit",
    "sql_auto_is_null",
    "sql_safe_updates",
    "session_track_schema",
    "session_track_state_change",
    "session_track_system_variables",
    "session_track_transaction_info",
    "session_track_gtids",
    "group_concat_max_len",
    "lc_messages",
    "lc_time_names",
    "big_tables",
    "sql_big_selects",
    "sql_notes",
    "sql_warnings",
    "sql_quote_show_create",
    "unique_checks",
    "foreign_key_checks",
    "innodb_lock_wait_timeout",
    "lock_wait_timeout",
    "profiling",
];

/// What the gateway knows of a session's variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Vars {
    pub autocommit: bool,
    pub database: String,
    /// `READ-COMMITTED` and the like, as the target reported it at login.
    pub isolation: String,
    /// The version the client was greeted with.
    pub version: String,
    pub connection_id: u32,
}

impl Vars {
    /// A variable's value as `SELECT @@name` shows it; `None`: MySQL's "unknown system
    /// variable".
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        let v = match name {
            "autocommit" => u8::from(self.autocommit).to_string(),
            "version" => self.version.clone(),
            "version_comment" => "molt-lms, serving from a PostgreSQL-protocol database".into(),
            "max_allowed_packet" => "67108864".into(),
            "wait_timeout" | "interactive_timeout" => 28_800.to_string(),
            "net_write_timeout" => "60".into(),
            "net_read_timeout" => "30".into(),
            "net_buffer_length" => 16_384.to_string(),
            "character_set_client"
            | "character_set_connection"
            | "character_set_results"
            | "character_set_server"
            | "character_set_database" => "utf8mb4".into(),
            "collation_connection" | "collation_server" | "collation_database" => {
                "utf8mb4_general_ci".into()
            }
            "sql_mode" => String::new(),
            "time_zone" => "+00:00".into(),
            "system_time_zone" => "UTC".into(),
            "transaction_isolation" | "tx_isolation" => self.isolation.clone(),
            "transaction_read_only" | "tx_read_only" => "0".into(),
            "lower_case_table_names" => "0".into(),
            "auto_increment_increment" | "auto_increment_offset" => "1".into(),
            "sql_select_limit" => "18446744073709551615".into(),
            "max_execution_time" => "0".into(),
            "license" => "Apache-2.0".into(),
            "performance_schema" => "0".into(),
            "query_cache_size" => "0".into(),
            "query_cache_type" => "OFF".into(),
            "init_connect" => String::new(),
            "have_ssl" => "DISABLED".into(),
            "session_track_schema" | "session_track_state_change" => "0".into(),
            "pseudo_thread_id" => self.connection_id.to_string(),
            "hostname" => "molt-lms".into(),
            "port" => "3306".into(),
            _ => return None,
        };
        Some(v)
    }

    /// Every variable `SHOW VARIABLES` lists, sorted by name.
    fn all(&self) -> Vec<(&'static str, String)> {
        let mut names: Vec<&'static str> = vec![
            "autocommit",
            "version",
            "version_comment",
            "max_allowed_packet",
            "wait_timeout",
            "interactive_timeout",
            "net_write_timeout",
            "net_read_timeout",
            "net_buffer_length",
            "character_set_client",
            "character_set_connection",
            "character_set_results",
            "character_set_server",
            "character_set_database",
            "collation_connection",
            "collation_server",
            "collation_database",
            "sql_mode",
            "time_zone",
            "system_time_zone",
            "transaction_isolation",
            "tx_isolation",
            "transaction_read_only",
            "tx_read_only",
            "lower_case_table_names",
            "auto_increment_increment",
            "auto_increment_offset",
            "sql_select_limit",
            "max_execution_time",
            "license",
            "performance_schema",
            "query_cache_size",
            "query_cache_type",
            "init_connect",
            "have_ssl",
        ];
        names.sort_unstable();
        names
            .into_iter()
            .filter_map(|n| Some((n, self.get(n)?)))
            .collect()
    }
}

/// How the gateway answers a statement it recognised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Local {
    /// OK, nothing run.
    Ok,
    Autocommit(bool),
    UseDatabase(String),
    /// One row: `(column name, value)` per column.
    Row(Vec<(String, Option<String>)>),
    /// Rows of `(Variable_name, Value)`.
    Variables(Vec<(String, String)>),
    /// An empty `SHOW WARNINGS` list.
    Warnings,
    /// Run this instead.
    Rewrite(String),
    /// MySQL's error for this statement: errno and message.
    Error(u16, String),
}

/// MySQL's `ER_UNKNOWN_SYSTEM_VARIABLE`.
pub(crate) const ER_UNKNOWN_SYSTEM_VARIABLE: u16 = 1193;

/// The gateway's answer to `sql`, if it answers it itself.
pub(crate) fn classify(sql: &str, vars: &Vars) -> Option<Local> {
    let trimmed = sql.trim().trim_end_matches(';').trim_end();
    let lower = trimmed.to_ascii_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    match words.as_slice() {
        ["set", ..] => set(&lower[3..]),
        ["select", rest @ ..] if rest.first().is_some_and(|w| w.starts_with("@@")) => {
            select_vars(&trimmed[6..], vars)
        }
        ["select", "database()"] | ["select", "schema()"] => Some(Local::Row(vec![(
            trimmed[6..].trim().to_owned(),
            Some(vars.database.clone()).filter(|d| !d.is_empty()),
        )])),
        ["show", "warnings", ..] | ["show", "errors", ..] => Some(Local::Warnings),
        ["show", "variables", rest @ ..] | ["show", "session", "variables", rest @ ..] => {
            show_variables(rest, trimmed, vars)
        }
        ["use", _] => Some(Local::UseDatabase(
            trimmed[3..].trim().trim_matches('`').to_owned(),
        )),
        ["start", "transaction", "with", "consistent", "snapshot"] => {
            Some(Local::Rewrite("START TRANSACTION".into()))
        }
        _ => None,
    }
}

/// `SET …` (after the keyword): handled when every assignment is one the gateway knows.
fn set(rest: &str) -> Option<Local> {
    let rest = rest.trim();
    let words: Vec<&str> = rest.split_whitespace().collect();
    match words.as_slice() {
        ["names", ..] | ["character", "set", ..] | ["charset", ..] => return Some(Local::Ok),
        ["session", "transaction", "isolation", "level", level @ ..]
        | ["transaction", "isolation", "level", level @ ..] => {
            let scope = if words[0] == "session" {
                "SESSION CHARACTERISTICS AS "
            } else {
                ""
            };
            return Some(Local::Rewrite(format!(
                "SET {scope}TRANSACTION ISOLATION LEVEL {}",
                level.join(" ").to_ascii_uppercase()
            )));
        }
        _ => {}
    }
    let mut answer = Local::Ok;
    for assignment in rest.split(',') {
        let (name, value) = assignment.split_once('=')?;
        let name = name.trim();
        let name = name
            .strip_prefix("session ")
            .or_else(|| name.strip_prefix("local "))
            .unwrap_or(name)
            .trim();
        let name = name
            .strip_prefix("@@session.")
            .or_else(|| name.strip_prefix("@@local."))
            .or_else(|| name.strip_prefix("@@"))
            .unwrap_or(name);
        let value = value.trim().trim_matches(|c| c == '\'' || c == '"');
        if name == "autocommit" {
            answer = Local::Autocommit(match value {
                "1" | "on" | "true" => true,
                "0" | "off" | "false" => false,
                _ => return None,
            });
        } else if !IGNORED.contains(&name) {
            return None;
        }
    }
    Some(answer)
}

/// `SELECT @@a, @@session.b AS x [LIMIT n]` (after `SELECT`).
fn select_vars(rest: &str, vars: &Vars) -> Option<Local> {
    let mut list = rest.trim();
    let lower = list.to_ascii_lowercase();
    if let Some(at) = lower.rfind(" limit ") {
        if lower[at + 7..].trim().parse::<u64>().is_ok() {
            list = list[..at].trim_end();
        }
    }
    let mut row = Vec::new();
    for item in list.split(',') {
        let item = item.trim();
        let lower = item.to_ascii_lowercase();
        let (expr, alias) = match lower.find(" as ") {
            Some(at) => (&lower[..at], Some(item[at + 4..].trim().trim_matches('`'))),
            None => (lower.as_str(), None),
        };
        let expr = expr.trim();
        let name = expr.strip_prefix("@@")?;
        let name = name
            .strip_prefix("session.")
            .or_else(|| name.strip_prefix("global."))
            .or_else(|| name.strip_prefix("local."))
            .unwrap_or(name);
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return None;
        }
        let Some(value) = vars.get(name) else {
            return Some(Local::Error(
                ER_UNKNOWN_SYSTEM_VARIABLE,
                format!("Unknown system variable '{name}'"),
            ));
        };
        let column = alias.map_or_else(|| item[..expr.len()].to_owned(), str::to_owned);
        row.push((column, Some(value)));
    }
    Some(Local::Row(row))
}

/// `SHOW VARIABLES [LIKE 'pattern']` (the words after `VARIABLES`).
fn show_variables(rest: &[&str], original: &str, vars: &Vars) -> Option<Local> {
    let pattern = match rest {
        [] => None,
        ["like", ..] => {
            let at = original.to_ascii_lowercase().find(" like ")?;
            Some(
                original[at + 6..]
                    .trim()
                    .trim_matches(|c| c == '\'' || c == '"'),
            )
        }
        _ => return None,
    };
    let rows = vars
        .all()
        .into_iter()
        .filter(|(n, _)| pattern.is_none_or(|p| like(p.as_bytes(), n.as_bytes())))
        .map(|(n, v)| (n.to_owned(), v))
        .collect();
    Some(Local::Variables(rows))
}

/// SQL `LIKE`, case-insensitive: `%` any run, `_` one character, `\` escapes.
fn like(pattern: &[u8], s: &[u8]) -> bool {
    match pattern.split_first() {
        None => s.is_empty(),
        Some((b'%', rest)) => (0..=s.len()).any(|i| like(rest, &s[i..])),
        Some((b'_', rest)) => !s.is_empty() && like(rest, &s[1..]),
        Some((b'\\', rest)) if !rest.is_empty() => {
            s.first().is_some_and(|c| c.eq_ignore_ascii_case(&rest[0])) && like(&rest[1..], &s[1..])
        }
        Some((c, rest)) => {
            s.first().is_some_and(|d| d.eq_ignore_ascii_case(c)) && like(rest, &s[1..])
        }
    }
}

#[cfg(test)]
mod tests;
