//! Builds the statement results of one PostgreSQL request (everything up to its
//! ReadyForQuery) from the backend messages as they pass.

use crate::shadow::result::{Column, StmtEnd, StmtResult};
use molt_lms_wire::pg::backend::{data_row_fields, error_fields, row_description};
use molt_lms_wire::pg::codec::put_message;
use molt_lms_wire::pg::tag::backend as be;

/// Results of one request, statement by statement.
#[derive(Debug, Default)]
pub(crate) struct PgAnswer {
    done: Vec<StmtResult>,
    current: StmtResult,
    budget: usize,
    /// Only errors matter (async mode): rows are not hashed.
    errors_only: bool,
}

impl PgAnswer {
    pub(crate) fn new(budget: usize, errors_only: bool) -> Self {
        Self {
            budget,
            errors_only,
            ..Self::default()
        }
    }

    /// Accounts for one backend message (not ReadyForQuery).
    pub(crate) fn observe(&mut self, tag: u8, body: &[u8]) {
        match tag {
            be::ERROR_RESPONSE => {
                let (code, message) = error_fields(body);
                let mut raw = Vec::with_capacity(body.len() + 5);
                put_message(&mut raw, be::ERROR_RESPONSE, |o| o.extend_from_slice(body));
                self.end(StmtEnd::Error { code, message, raw });
            }
            _ if self.errors_only => {}
            be::ROW_DESCRIPTION => {
                if let Some(cols) = row_description(body) {
                    self.current.columns = Some(
                        cols.into_iter()
                            .map(|(name, type_id)| Column { name, type_id })
                            .collect(),
                    );
                }
            }
            be::NO_DATA => self.current.columns = Some(Vec::new()),
            be::DATA_ROW => {
                if let Some(fields) = data_row_fields(body) {
                    self.current.rows.push(fields.into_iter(), self.budget);
                }
            }
            // COPY TO STDOUT: each CopyData is one row.
            be::COPY_DATA => self
                .current
                .rows
                .push(std::iter::once(Some(body)), self.budget),
            be::COMMAND_COMPLETE => {
                let tag = body.split(|&b| b == 0).next().unwrap_or_default();
                self.end(StmtEnd::Complete(String::from_utf8_lossy(tag).into_owned()));
            }
            be::EMPTY_QUERY_RESPONSE => self.end(StmtEnd::Empty),
            be::PORTAL_SUSPENDED => self.end(StmtEnd::Suspended),
            _ => {}
        }
    }

    fn end(&mut self, end: StmtEnd) {
        let mut s = std::mem::take(&mut self.current);
        s.end = end;
        self.done.push(s);
    }

    /// The request's results, at its ReadyForQuery; the builder starts over.
    pub(crate) fn finish(&mut self) -> Vec<StmtResult> {
        let cur = std::mem::take(&mut self.current);
        if !cur.is_blank() {
            self.done.push(cur);
        }
        std::mem::take(&mut self.done)
    }
}
