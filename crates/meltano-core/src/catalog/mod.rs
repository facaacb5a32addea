//! Singer catalogs as Meltano 4.4.1 handles them: select patterns, the rules derived from the
//! `select`, `metadata`, `schema` and `select_filter` extras, their application to a
//! discovered catalog, the `meltano select --list` view of the result, and the discovery cache
//! key.
//!
//! Everything operates on `serde_json::Value` catalogs (order-preserving) and reproduces the
//! reference's observable output exactly, quirks included: nodes are recognised by their path
//! (`…schema.properties.<\w*>`), so properties whose names hold `-`, `.` or spaces get no
//! metadata entries; `*` in property patterns spans nesting levels; metadata entries added
//! after a stream's `metadata` list was walked receive no rules. No IO here: callers read and
//! write `tap.properties.json` and log the returned warnings.
//!
//! Main entry points: [`CatalogRules`] (build from [`RuleSources`], then
//! [`CatalogRules::apply`]), [`CatalogSelection`] with [`render_select_text`] /
//! [`render_select_json`], and [`catalog_cache_key`].

mod cache_key;
mod exec;
pub mod fnmatch;
mod list;
mod path;
mod pyre_tables;
mod rules;
mod select;
mod sha1;
mod stream;
mod visit;

pub use crate::pyjson::dumps_indent2;
pub use cache_key::{CacheKeyInputs, catalog_cache_key};
pub use list::{
    CatalogSelection, ListColour, SelectionBuilder, SelectionEntry, SelectionType,
    render_select_json, render_select_text,
};
pub use path::path_property;
pub use rules::{
    CatalogRules, CatalogWarning, MetadataRule, RuleSources, SchemaRule, StreamPatterns,
    metadata_extra_rules, property_breadcrumb, schema_extra_rules,
};
pub use select::{
    SelectPattern, el_select_filter, select_filter_metadata_rules, select_metadata_rules,
    select_pattern_string,
};
pub use sha1::sha1_hex;

/// Why rules could not be applied or a catalog not listed: the inputs on which Meltano raises
/// (a missing key is not among them: Meltano skips that node). Texts follow Python's where
/// practical.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// A tap_stream_id is not a string while a stream pattern must be tried on it.
    #[error("expected str, bytes or os.PathLike object, not {0}")]
    NotText(&'static str),
    /// A property or metadata entry appears before any stream.
    #[error("'NoneType' object is not subscriptable")]
    OutsideStream,
    /// A stream's `metadata` is not a list.
    #[error("a stream's metadata is a {0}, not a list")]
    MetadataNotList(&'static str),
    /// A metadata list item is not an object.
    #[error("a metadata entry is a {0}, not an object")]
    BadMetadataEntry(&'static str),
    /// A schema node on the path a `schema` rule names is not an object.
    #[error("a schema node is a {0}, not an object")]
    SchemaNotObject(&'static str),
    /// A breadcrumb is not a list of strings.
    #[error("a breadcrumb holds a {0}, not only strings")]
    BadBreadcrumb(&'static str),
    /// Something that must be an object is not.
    #[error("{0} is not an object")]
    NotObject(&'static str),
    /// A value was used as a dict (`.get`) but is not one.
    #[error("'{0}' object has no attribute 'get'")]
    NoGet(&'static str),
    /// A tap_stream_id is a list or object.
    #[error("unhashable type: '{0}'")]
    Unhashable(&'static str),
    /// `streams` is not iterable.
    #[error("'{0}' object is not iterable")]
    NotIterable(&'static str),
    /// A `schema` extra payload is not an object.
    #[error("schema payload of type {0} cannot replace a property schema")]
    BadSchemaPayload(&'static str),
    /// An extra has the wrong shape.
    #[error("the `{extra}` extra must be {expected}")]
    BadExtra {
        /// The extra's name.
        extra: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// A `metadata` extra leaf names no stream (`{key: value}` at the top level).
    #[error("metadata `{0}` must be nested under a stream pattern")]
    BadMetadataKey(String),
    /// The catalog (or a recursive schema rule) nests deeper than Meltano's recursion allows.
    #[error("maximum recursion depth exceeded")]
    TooDeep,
}
