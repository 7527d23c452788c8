//! Rendering of tables and JSON. Everything here is pure (text out) except [`print`],
//! so the shapes are unit-tested without an orchestrator.

mod check;
mod connections;
mod cutover;
mod roles;
mod shadow;
mod status;
mod verify;

pub use check::check_table;
pub use connections::{connections_json, connections_table, state_name as connection_state_name};
pub use cutover::{attempt_metadata, attempt_proxies, gate_waiting, EndKind};
pub use roles::roles_table;
pub use shadow::shadow_table;
pub use status::{status_table, status_view};
pub use verify::{verify_progress, verify_table};

use comfy_table::{Cell, CellAlignment, Table};
use molt_lms_api::{Dialect, ShadowMode, SourceOfTruth};
use serde::Serialize;
use std::io::Write;

/// ASCII like the reference CLI: `+---+` rules above, below and under the header, and
/// no rules between rows.
const PRESET: &str = "||--+-++|    ++++++";

/// A table with centred headers. Cells never wrap, so long values stay greppable.
pub fn table(headers: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> Table {
    let mut t = Table::new();
    t.load_preset(PRESET);
    t.set_header(
        headers
            .iter()
            .map(|h| Cell::new(h).set_alignment(CellAlignment::Center)),
    );
    for row in rows {
        t.add_row(row);
    }
    t
}

/// A table followed by its caption line, as every table of the reference is.
pub fn captioned(table: &Table, caption: &str) -> String {
    format!("{table}\n{caption}\n")
}

/// Pretty JSON with a final newline.
pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    Ok(text)
}

/// Writes to stdout. A closed pipe (`molt-lms-cli status | head`) is not an error.
pub fn print(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// At most `max` characters; a cut value ends in `…` so it is never mistaken for whole.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// SQL on one line, so a multi-line query does not break a table row or progress line.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The reference's capitalisation: None, Async, Sync, Strict-Sync.
pub fn shadow_mode_name(mode: ShadowMode) -> &'static str {
    match mode {
        ShadowMode::None => "None",
        ShadowMode::Async => "Async",
        ShadowMode::Sync => "Sync",
        ShadowMode::StrictSync => "Strict-Sync",
    }
}

/// The dialects behind `source` and `target`, as far as they are known, so a source of
/// truth is shown as the product it runs ("MySQL") rather than its role.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dialects {
    pub source: Option<Dialect>,
    pub target: Option<Dialect>,
}

impl Dialects {
    pub fn get(&self, sot: SourceOfTruth) -> Option<Dialect> {
        match sot {
            SourceOfTruth::Source => self.source,
            SourceOfTruth::Target => self.target,
        }
    }

    /// The dialect's display name, or the role ("source") when the dialect is unknown.
    pub fn name(&self, sot: SourceOfTruth) -> String {
        self.get(sot)
            .map_or_else(|| sot.to_string(), |d| d.display_name().to_owned())
    }
}

/// The dialect's display name, or empty when unknown.
pub fn dialect_cell(d: Option<Dialect>) -> String {
    d.map(|d| d.display_name().to_owned()).unwrap_or_default()
}

#[cfg(test)]
mod tests;
