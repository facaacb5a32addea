//! The project's `.env` file, read as Meltano reads it.

use std::path::Path;

use indexmap::IndexMap;

/// A `.env` file that could not be parsed.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct DotenvError {
    path: String,
    #[source]
    source: dotenvy::Error,
}

/// The variables of a `.env` file in file order; a missing file is empty, as in Meltano.
pub fn read(path: &Path) -> Result<IndexMap<String, String>, DotenvError> {
    let iter = match dotenvy::from_path_iter(path) {
        Ok(iter) => iter,
        Err(e) if e.not_found() => return Ok(IndexMap::new()),
        Err(source) => {
            return Err(DotenvError {
                path: path.display().to_string(),
                source,
            });
        }
    };
    iter.map(|item| {
        item.map_err(|source| DotenvError {
            path: path.display().to_string(),
            source,
        })
    })
    .collect()
}
