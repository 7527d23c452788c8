//! `config.json` for both binaries: a flat object of string keys, looked up
//! case-insensitively, each overridable by the environment variable of the same name.
//! Unknown keys are refused so a typo fails at start-up instead of being ignored.

use config::{Config, File, FileFormat};
use std::collections::HashMap;
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConfigFileError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{key}: unknown key in config.json (known keys: {known})")]
    Unknown { key: String, known: String },
    #[error("{key}: must be a string")]
    NotString { key: String },
}

/// The file's values (keys upper-cased) with environment overrides applied.
pub fn load(
    path: Option<&Path>,
    keys: &[&str],
) -> Result<HashMap<String, String>, ConfigFileError> {
    let mut values = HashMap::new();
    if let Some(path) = path {
        let table: HashMap<String, config::Value> = Config::builder()
            .add_source(File::from(path).format(FileFormat::Json).required(true))
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| ConfigFileError::Read {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
        for (key, value) in table {
            let upper = key.to_ascii_uppercase();
            if !keys.contains(&upper.as_str()) {
                return Err(ConfigFileError::Unknown {
                    key,
                    known: keys.join(", "),
                });
            }
            let text = value
                .into_string()
                .map_err(|_| ConfigFileError::NotString { key: upper.clone() })?;
            values.insert(upper, text);
        }
    }
    for key in keys {
        if let Ok(v) = std::env::var(key) {
            values.insert((*key).to_owned(), v);
        }
    }
    Ok(values)
}
