//! What `meltano select <tap> --list [--all]` and `--json` show: the selection state of every
//! stream/property metadata entry of a catalog (after rules), in Meltano's order, and both
//! output formats.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::fmt;

use serde_json::{Map, Value, json};

use super::CatalogError;
use super::path::{field, path_property};
use super::rules::{join_breadcrumb, py_type, truthy};
use super::select::SelectPattern;
use super::visit::{Flow, ReadExecutor, walk_read, walk_read_stream};
use crate::pyjson::dumps_indent2;

/// The selection state of a node, named as Meltano prints it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SelectionType {
    /// Selected by the rules (or by `selected-by-default`).
    Selected,
    /// Not selected.
    Excluded,
    /// `inclusion: automatic`: always extracted.
    Automatic,
    /// `inclusion: unsupported`: never extracted.
    Unsupported,
}

/// A colour of `select --list` output, by click's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListColour {
    /// `bright_green` (selected).
    BrightGreen,
    /// `bright_white` (automatic).
    BrightWhite,
    /// `red` (excluded, and `!` patterns).
    Red,
    /// `black` (unsupported).
    Black,
    /// `white` (other patterns).
    White,
}

impl SelectionType {
    /// Legend order (declaration order in Meltano).
    pub const ALL: [SelectionType; 4] = [
        SelectionType::Selected,
        SelectionType::Excluded,
        SelectionType::Automatic,
        SelectionType::Unsupported,
    ];

    /// The name Meltano prints.
    pub fn as_str(self) -> &'static str {
        match self {
            SelectionType::Selected => "selected",
            SelectionType::Excluded => "excluded",
            SelectionType::Automatic => "automatic",
            SelectionType::Unsupported => "unsupported",
        }
    }

    /// Whether the node will be extracted (selected or automatic); decides what `--list`
    /// shows without `--all`.
    pub fn is_extracted(self) -> bool {
        matches!(self, SelectionType::Selected | SelectionType::Automatic)
    }

    /// The state of a property given its stream's: excluded wins, then automatic, then
    /// unsupported, else selected.
    pub fn combine(self, other: SelectionType) -> SelectionType {
        use SelectionType::*;
        if self == Excluded || other == Excluded {
            Excluded
        } else if self == Automatic || other == Automatic {
            Automatic
        } else if self == Unsupported || other == Unsupported {
            Unsupported
        } else {
            Selected
        }
    }

    /// The colour `select --list` uses for this state.
    pub fn colour(self) -> ListColour {
        match self {
            SelectionType::Selected => ListColour::BrightGreen,
            SelectionType::Automatic => ListColour::BrightWhite,
            SelectionType::Excluded => ListColour::Red,
            SelectionType::Unsupported => ListColour::Black,
        }
    }

    /// The state of one metadata entry (`{"breadcrumb": …, "metadata": {…}}`).
    pub fn of_entry(entry: &Map<String, Value>) -> Result<SelectionType, CatalogError> {
        let Some(metadata) = field(entry, "metadata") else {
            return Ok(SelectionType::Excluded);
        };
        let metadata = metadata
            .as_object()
            .ok_or(CatalogError::NoGet(py_type(metadata)))?;
        match field(metadata, "inclusion").and_then(Value::as_str) {
            Some("automatic") => return Ok(SelectionType::Automatic),
            Some("unsupported") => return Ok(SelectionType::Unsupported),
            _ => {}
        }
        let selected = field(metadata, "selected");
        let by_default = || field(metadata, "selected-by-default").is_some_and(truthy);
        if selected == Some(&Value::Bool(true))
            || (matches!(selected, None | Some(Value::Null)) && by_default())
        {
            Ok(SelectionType::Selected)
        } else {
            Ok(SelectionType::Excluded)
        }
    }
}

impl fmt::Display for SelectionType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Meltano sorts selection states by their names.
impl Ord for SelectionType {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for SelectionType {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The selection states found in a catalog: per stream (a stream may appear with several
/// states if it has several `[]` entries) and per dotted property path.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CatalogSelection {
    streams: BTreeSet<(String, SelectionType)>,
    properties: HashMap<String, BTreeSet<(String, SelectionType)>>,
}

/// One line of `select --list`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SelectionEntry {
    /// tap_stream_id.
    pub stream: String,
    /// Dotted property path (`address.city`).
    pub property: String,
    /// The stream's own state (colours the stream name).
    pub stream_selection: SelectionType,
    /// The combined state shown in brackets.
    pub selection: SelectionType,
}

impl CatalogSelection {
    /// Reads the states of every metadata entry of `catalog`, walking it as Meltano does.
    pub fn of_catalog(catalog: &Value) -> Result<CatalogSelection, CatalogError> {
        let mut exec = ListExec::default();
        walk_read(catalog, &mut exec)?;
        Ok(exec.selection)
    }

    /// The lines in Meltano's order (streams by ID then state, properties by path then
    /// state); without `show_all` only those that will be extracted.
    pub fn entries(&self, show_all: bool) -> Vec<SelectionEntry> {
        let mut out = Vec::new();
        for (stream, stream_selection) in &self.streams {
            let Some(props) = self.properties.get(stream) else {
                continue;
            };
            for (property, prop_selection) in props {
                let selection = stream_selection.combine(*prop_selection);
                if show_all || selection.is_extracted() {
                    out.push(SelectionEntry {
                        stream: stream.clone(),
                        property: property.clone(),
                        stream_selection: *stream_selection,
                        selection,
                    });
                }
            }
        }
        out
    }
}

/// Builds a [`CatalogSelection`] one stream at a time (see [`CatalogRules::apply_streamed`]),
/// exactly as [`CatalogSelection::of_catalog`] reads the whole catalog.
///
/// [`CatalogRules::apply_streamed`]: super::CatalogRules::apply_streamed
#[derive(Default)]
pub struct SelectionBuilder {
    exec: ListExec,
    error: Option<CatalogError>,
}

impl SelectionBuilder {
    /// Reads the item `index` of the catalog's `streams` list (items in order).
    pub fn add_stream(&mut self, index: usize, stream: &Value) {
        if self.error.is_none()
            && let Err(err) = walk_read_stream(stream, index, &mut self.exec)
        {
            self.error = Some(err);
        }
    }

    /// The selection, or the first error the whole walk would have met.
    pub fn finish(self) -> Result<CatalogSelection, CatalogError> {
        match self.error {
            Some(err) => Err(err),
            None => Ok(self.exec.selection),
        }
    }
}

#[derive(Default)]
struct ListExec {
    current: Option<String>,
    selection: CatalogSelection,
    joined: String,
}

impl ReadExecutor for ListExec {
    fn stream_node(&mut self, node: &Map<String, Value>) -> Result<(), Flow> {
        // Without an ID the previous stream stays current (Meltano's `KeyError` is swallowed).
        let id = node.get("tap_stream_id").ok_or(Flow::KeyError)?;
        let id = id.as_str().ok_or(CatalogError::NotText(py_type(id)))?;
        self.selection
            .properties
            .insert(id.to_owned(), BTreeSet::new());
        self.current = Some(id.to_owned());
        Ok(())
    }

    fn metadata_node(&mut self, node: &Map<String, Value>) -> Result<(), Flow> {
        let breadcrumb = field(node, "breadcrumb").ok_or(Flow::KeyError)?;
        let is_stream = match breadcrumb {
            Value::Array(a) => a.is_empty(),
            Value::String(s) => s.is_empty(),
            Value::Object(o) => o.is_empty(),
            other => return Err(CatalogError::BadBreadcrumb(py_type(other)).into()),
        };
        let current = self.current.as_deref().ok_or(CatalogError::OutsideStream)?;
        if is_stream {
            let selection = SelectionType::of_entry(node)?;
            self.selection
                .streams
                .insert((current.to_owned(), selection));
        } else {
            join_breadcrumb(breadcrumb, &mut self.joined)?;
            let property = path_property(&self.joined);
            let selection = SelectionType::of_entry(node)?;
            match self.selection.properties.get_mut(current) {
                Some(set) => {
                    set.insert((property, selection));
                }
                None => {
                    let set = BTreeSet::from([(property, selection)]);
                    self.selection.properties.insert(current.to_owned(), set);
                }
            }
        }
        Ok(())
    }
}

/// The `[selection ]` mark, padded to the longest state name.
fn mark(selection: SelectionType) -> String {
    format!("[{selection:<11}]")
}

/// `meltano select <tap> --list` output, byte for byte including the final newline; `paint`
/// colours a piece of text (return it unchanged for plain output).
pub fn render_select_text(
    patterns: &[String],
    entries: &[SelectionEntry],
    paint: impl Fn(&str, ListColour) -> String,
) -> String {
    let mut out = String::from("Legend:\n");
    for selection in SelectionType::ALL {
        out.push_str(&paint(&format!("\t{selection}"), selection.colour()));
        out.push('\n');
    }
    out.push_str("\nEnabled patterns:\n");
    for pattern in patterns {
        let colour = if SelectPattern::parse(pattern).negated {
            ListColour::Red
        } else {
            ListColour::White
        };
        out.push_str(&paint(&format!("\t{pattern}"), colour));
        out.push('\n');
    }
    out.push_str("\nSelected properties:\n");
    for entry in entries {
        let colour = entry.selection.colour();
        out.push_str(&paint(&format!("\t{} ", mark(entry.selection)), colour));
        out.push_str(&paint(&entry.stream, entry.stream_selection.colour()));
        out.push_str(&paint(&format!(".{}", entry.property), colour));
        out.push('\n');
    }
    out
}

/// `meltano select <tap> --list --json` output, byte for byte including the final newline.
pub fn render_select_json(patterns: &[String], entries: &[SelectionEntry]) -> String {
    let streams: Vec<Value> = entries
        .iter()
        .map(|e| {
            json!({
                "stream": e.stream,
                "property": e.property,
                "selection": e.selection.as_str(),
            })
        })
        .collect();
    let doc = json!({"enabled_patterns": patterns, "streams": streams});
    let mut out = dumps_indent2(&doc);
    out.push('\n');
    out
}
