//! The `plugin_settings` table: setting values stored by `meltano config set --store=db`.
//!
//! Values are stored as Meltano stores them (a Python pickle in `value`); encoding is the caller's
//! business, so this module only moves bytes.

use crate::{DbError, SystemDb};

impl SystemDb {
    /// The stored settings of one namespace (`extractors.tap-x.default`, or `meltano` for the
    /// project) as `(name, pickled value)`, enabled rows only, by name.
    pub async fn plugin_settings(
        &self,
        namespace: &str,
    ) -> Result<Vec<(String, Vec<u8>)>, DbError> {
        let rows: Vec<(String, Option<Vec<u8>>)> = sqlx::query_as(
            "SELECT name, value FROM plugin_settings WHERE namespace = $1 AND (enabled IS NULL OR enabled = $2) ORDER BY name",
        )
        .bind(namespace)
        .bind(true)
        .fetch_all(&self.pool)
        .await
        .map_err(DbError::query("read plugin settings"))?;
        Ok(rows
            .into_iter()
            .filter_map(|(name, value)| value.map(|v| (name, v)))
            .collect())
    }

    /// Stores (or replaces) one setting's pickled value.
    pub async fn set_plugin_setting(
        &self,
        namespace: &str,
        name: &str,
        value: &[u8],
    ) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO plugin_settings (name, namespace, value, enabled) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name, namespace) DO UPDATE SET value = excluded.value, enabled = excluded.enabled",
        )
        .bind(name)
        .bind(namespace)
        .bind(value.to_vec())
        .bind(true)
        .execute(&self.pool)
        .await
        .map_err(DbError::query("store a plugin setting"))?;
        Ok(())
    }

    /// Deletes one setting; returns whether a row existed.
    pub async fn unset_plugin_setting(&self, namespace: &str, name: &str) -> Result<bool, DbError> {
        let result = sqlx::query("DELETE FROM plugin_settings WHERE namespace = $1 AND name = $2")
            .bind(namespace)
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(DbError::query("delete a plugin setting"))?;
        Ok(result.rows_affected() > 0)
    }
}
