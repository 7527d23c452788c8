//! Fetches a role's password verifier from a database, PgBouncer `auth_query` style,
//! over one shared service session per database (the `INIT_SOURCE`/`INIT_TARGET` user).

use crate::auth::Verifier;
use crate::pg::backend::Backend;
use molt_lms_common::secret::Secret;
use std::sync::Arc;
use thiserror::Error;
use tokio::sync::Mutex;

/// Reads `pg_authid`, which needs a superuser; point `AUTH_QUERY` at a
/// `SECURITY DEFINER` function for a least-privilege service user.
pub const DEFAULT_AUTH_QUERY: &str =
    "SELECT rolname::text, rolpassword::text FROM pg_catalog.pg_authid WHERE rolname = $1 AND rolcanlogin";

#[derive(Debug, Error)]
pub enum LookupError {
    #[error("auth query on the {role} database failed: {message}")]
    Query { role: String, message: String },
}

/// One database's verifier source.
pub struct AuthLookup {
    backend: Arc<Backend>,
    query: String,
    client: Mutex<Option<Arc<tokio_postgres::Client>>>,
}

impl AuthLookup {
    pub fn new(backend: Arc<Backend>, query: Option<String>) -> Self {
        Self {
            backend,
            query: query.unwrap_or_else(|| DEFAULT_AUTH_QUERY.to_owned()),
            client: Mutex::new(None),
        }
    }

    /// The role's verifier, `None` if it has none (or does not exist).
    pub async fn verifier(&self, user: &str) -> Result<Option<Verifier>, LookupError> {
        let stored = self.stored_verifier(user).await?;
        Ok(stored.as_ref().and_then(|s| Verifier::parse(s.expose())))
    }

    /// The role's verifier text exactly as the auth query returns it (`rolpassword`), for
    /// copying it to another database; `None` when there is no row or it is NULL.
    pub async fn stored_verifier(&self, user: &str) -> Result<Option<Secret>, LookupError> {
        // One retry: the service session may have been closed since its last use.
        for attempt in 0..2 {
            let client = self.client().await?;
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&user];
            let query = client.query_opt(&self.query, &params);
            let Ok(answer) = tokio::time::timeout(self.backend.login_timeout, query).await else {
                *self.client.lock().await = None;
                return Err(LookupError::Query {
                    role: self.backend.role.to_string(),
                    message: "the auth query did not answer in time".into(),
                });
            };
            match answer {
                Ok(row) => {
                    let stored: Option<String> = row.and_then(|r| r.try_get(r.len() - 1).ok());
                    return Ok(stored.map(Secret::new));
                }
                Err(e) if e.is_closed() && attempt == 0 => {
                    *self.client.lock().await = None;
                }
                Err(e) => {
                    return Err(LookupError::Query {
                        role: self.backend.role.to_string(),
                        message: e
                            .as_db_error()
                            .map_or_else(|| e.to_string(), |d| d.message().to_owned()),
                    })
                }
            }
        }
        Err(LookupError::Query {
            role: self.backend.role.to_string(),
            message: "service session closed".into(),
        })
    }

    async fn client(&self) -> Result<Arc<tokio_postgres::Client>, LookupError> {
        let mut slot = self.client.lock().await;
        if let Some(c) = slot.as_ref().filter(|c| !c.is_closed()) {
            return Ok(c.clone());
        }
        let role = self.backend.role.to_string();
        let connect = self.backend.service_client("molt-lms auth lookup");
        let client = tokio::time::timeout(self.backend.login_timeout, connect)
            .await
            .map_err(|_| LookupError::Query {
                role: role.clone(),
                message: "the service login did not finish in time".into(),
            })?
            .map_err(|message| LookupError::Query { role, message })?;
        let client = Arc::new(client);
        *slot = Some(client.clone());
        Ok(client)
    }
}
