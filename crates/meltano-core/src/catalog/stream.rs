//! The rules applied to a catalog text one stream at a time, so that a large discovered catalog
//! is never whole in memory as a `Value` (a few times the size of its text).
//!
//! Only for the plain shape `{"streams": [<object>, …]}`, where walking each stream by itself
//! visits the same nodes, in the same order, with the same paths as walking the whole. Anything
//! else (another top-level key, an error, an entry that Meltano adds to a stream after its walk
//! ended) gives up, and the caller applies the rules to the whole catalog, which reproduces the
//! reference's result or error.

use std::fmt;

use serde::Deserializer as _;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::exec::{MetadataExec, SchemaExec};
use super::rules::{
    CatalogRules, CatalogWarning, literal_stream, missing_warnings_from, property_missing,
};
use super::visit::walk_stream;
use crate::pyjson::dumps_indent2_item;

/// Why the stream-by-stream path gave up.
#[derive(Debug)]
struct GiveUp;

impl fmt::Display for GiveUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a plain catalog")
    }
}

impl CatalogRules {
    /// Applies the rules to the catalog text `input` stream by stream, appending the result to
    /// `out` as [`dumps_indent2`](crate::pyjson::dumps_indent2) renders it and handing each
    /// finished stream to `visit` (its index, itself) before dropping it. Returns the warnings of
    /// [`CatalogRules::apply`], or None when it gave up: `out` is then as it was, `visit` may have
    /// seen some streams, and the caller must use [`CatalogRules::apply`] on the whole catalog.
    pub fn apply_streamed(
        &self,
        input: &[u8],
        out: &mut String,
        visit: &mut dyn FnMut(usize, &Value),
    ) -> Option<Vec<CatalogWarning>> {
        let start = out.len();
        let mut run = Run {
            rules: self,
            schema: SchemaExec::new(&self.schema),
            metadata: MetadataExec::new(&self.metadata),
            found: vec![None; self.metadata.len()],
            out,
            visit,
            count: 0,
        };
        run.out.push_str("{\n  \"streams\": [");
        let mut de = serde_json::Deserializer::from_slice(input);
        let parsed = (&mut de)
            .deserialize_map(TopLevel(&mut run))
            .and_then(|()| de.end());
        let finished = parsed.ok().and_then(|()| run.finish());
        if finished.is_none() {
            out.truncate(start);
        }
        finished
    }
}

/// The state of one stream-by-stream application.
struct Run<'a> {
    rules: &'a CatalogRules,
    schema: SchemaExec<'a>,
    metadata: MetadataExec<'a>,
    /// Per metadata rule naming a stream literally: whether its property is missing from the
    /// last stream with that ID (None while no stream had it).
    found: Vec<Option<Result<bool, super::CatalogError>>>,
    out: &'a mut String,
    visit: &'a mut dyn FnMut(usize, &Value),
    count: usize,
}

impl Run<'_> {
    fn stream(&mut self, mut stream: Value) -> Result<(), GiveUp> {
        let index = self.count;
        if !stream.is_object() {
            return Err(GiveUp);
        }
        if !self.rules.schema.is_empty() {
            walk_stream(&mut stream, index, &mut self.schema).map_err(|_| GiveUp)?;
        }
        if !self.rules.metadata.is_empty() {
            self.note_ids(&stream)?;
            walk_stream(&mut stream, index, &mut self.metadata).map_err(|_| GiveUp)?;
            if self.metadata.has_unplaced() {
                return Err(GiveUp);
            }
        }
        if index > 0 {
            self.out.push(',');
        }
        dumps_indent2_item(self.out, &stream, 2);
        (self.visit)(index, &stream);
        self.count += 1;
        Ok(())
    }

    /// What the "not found" warnings need from a stream, as Meltano looks it up by ID (the
    /// last stream with an ID wins).
    fn note_ids(&mut self, stream: &Value) -> Result<(), GiveUp> {
        let Value::Object(map) = stream else {
            return Err(GiveUp);
        };
        match map.get("tap_stream_id") {
            Some(Value::String(id)) => {
                for (i, (rule, _)) in self.rules.metadata.iter().enumerate() {
                    if literal_stream(rule) == Some(id.as_str()) {
                        self.found[i] = Some(property_missing(rule, map));
                    }
                }
                Ok(())
            }
            Some(Value::Array(_) | Value::Object(_)) => Err(GiveUp),
            _ => Ok(()),
        }
    }

    fn finish(self) -> Option<Vec<CatalogWarning>> {
        let warnings = if self.rules.metadata.is_empty() {
            Vec::new()
        } else {
            let found = self.found;
            missing_warnings_from(&self.rules.metadata, |i| found[i].clone()).ok()?
        };
        if self.count == 0 {
            self.out.push_str("]\n}");
        } else {
            self.out.push_str("\n  ]\n}");
        }
        Some(warnings)
    }
}

/// The top-level object: exactly one key, `streams`, holding a list.
struct TopLevel<'r, 'a>(&'r mut Run<'a>);

impl<'de> Visitor<'de> for TopLevel<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a catalog object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        match map.next_key::<String>()? {
            Some(key) if key == "streams" => {}
            _ => return Err(de::Error::custom(GiveUp)),
        }
        map.next_value_seed(Streams(self.0))?;
        if map.next_key::<IgnoredAny>()?.is_some() {
            return Err(de::Error::custom(GiveUp));
        }
        Ok(())
    }
}

/// The `streams` list, each item applied, rendered and dropped as soon as it is parsed.
struct Streams<'r, 'a>(&'r mut Run<'a>);

impl<'de> DeserializeSeed<'de> for Streams<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Streams<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of streams")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(stream) = seq.next_element::<Value>()? {
            self.0.stream(stream).map_err(de::Error::custom)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::{CatalogSelection, RuleSources, SelectionBuilder};
    use super::*;
    use crate::pyjson::dumps_indent2;

    fn rules() -> CatalogRules {
        let select = ["a*.*".to_owned(), "!*.x*".to_owned(), "b.id".to_owned()];
        CatalogRules::from_sources(&RuleSources {
            select: &select,
            metadata: &json!({"a": {"replication-method": "FULL_TABLE"}, "zz": {"k": 1}}),
            schema: &json!({"b": {"new": {"type": "string"}}}),
            select_filter: &[],
            custom_catalog: false,
        })
        .unwrap()
    }

    /// Streamed and whole give the same text and selection, or streamed gives up.
    fn same(catalog: &Value, expect_streamed: bool) {
        let rules = rules();
        let input = serde_json::to_vec(catalog).unwrap();
        let mut whole = catalog.clone();
        let whole_warnings = rules.apply(&mut whole);
        let mut text = String::from(">");
        let mut builder = SelectionBuilder::default();
        let streamed =
            rules.apply_streamed(&input, &mut text, &mut |i, s| builder.add_stream(i, s));
        assert_eq!(streamed.is_some(), expect_streamed, "{catalog}");
        if let Some(warnings) = streamed {
            assert_eq!(Ok(warnings), whole_warnings);
            assert_eq!(text, format!(">{}", dumps_indent2(&whole)));
            assert_eq!(
                builder.finish().unwrap(),
                CatalogSelection::of_catalog(&whole).unwrap()
            );
        } else {
            assert_eq!(text, ">");
        }
    }

    #[test]
    fn streamed_matches_whole() {
        let stream = |id: &str| {
            json!({
                "tap_stream_id": id,
                "schema": {"properties": {"id": {"type": "integer"}, "x1": {"type": "string"},
                    "o": {"properties": {"p": {}}}}},
                "metadata": [{"breadcrumb": [], "metadata": {"inclusion": "available"}},
                    {"breadcrumb": ["properties", "id"], "metadata": {}}],
            })
        };
        same(&json!({"streams": []}), true);
        same(
            &json!({"streams": [stream("a1"), stream("b"), stream("a1"), {}]}),
            true,
        );
        // Metadata walked before the schema: entries join the list after the stream's walk.
        let late = json!({"streams": [{"tap_stream_id": "a", "metadata": [],
            "schema": {"properties": {"id": {}}}}]});
        same(&late, true);
        same(&json!({"streams": [stream("a")], "version": 1}), false);
        same(&json!({"streams": [stream("a"), 3]}), false);
        same(&json!({"streams": [{"tap_stream_id": ["a"]}]}), false);
        same(&json!({"streams": {}}), false);
        same(&json!([1]), false);
    }
}
