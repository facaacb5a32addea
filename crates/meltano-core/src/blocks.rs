//! The block-set grammar of `meltano run`: job names expanded into their tasks, tokens
//! (`name` or `name:command`) resolved to plugins, and the blocks formed left to right: an
//! extractor, any number of mappings, a loader; anything else is a command block.

use indexmap::IndexMap;

use crate::PluginType;

/// What a token's name refers to, as the project knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Referent {
    /// A plugin of this type with this name.
    Plugin(PluginType),
    /// A mapping (an entry of a mapper's `mappings:`) of the named mapper plugin.
    Mapping { mapper: String },
}

/// One link of an extract-load block set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// The mapper plugin that runs it.
    pub mapper: String,
    /// The mapping's name, as written on the command line.
    pub name: String,
}

/// What `meltano run` executes, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// Extractor → mappings → loader, joined by pipes.
    ExtractLoad {
        extractor: String,
        mappings: Vec<Mapping>,
        loader: String,
    },
    /// A plugin run once, optionally one of its commands (`dbt:run`).
    Command {
        plugin: String,
        plugin_type: PluginType,
        command: Option<String>,
    },
}

/// Why the tokens do not form blocks; the messages are Meltano's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    #[error("Block {0} not found")]
    NotFound(String),
    #[error("Ambiguous reference to '{0}' which matches a job name AND a plugin name.")]
    Ambiguous(String),
    #[error("block violates set requirements: {0}")]
    Set(String),
}

/// Replaces each token naming a job by the job's tasks (one level; each task split on
/// whitespace). A token naming both a job and a plugin (`is_plugin`) is ambiguous.
pub fn expand_jobs(
    tokens: &[String],
    jobs: &IndexMap<String, Vec<String>>,
    is_plugin: impl Fn(&str) -> bool,
) -> Result<Vec<String>, BlockError> {
    let mut out = Vec::new();
    for token in tokens {
        match jobs.get(token) {
            Some(tasks) => {
                if is_plugin(token) {
                    return Err(BlockError::Ambiguous(token.clone()));
                }
                out.extend(
                    tasks
                        .iter()
                        .flat_map(|t| t.split_whitespace())
                        .map(str::to_string),
                );
            }
            None => out.push(token.clone()),
        }
    }
    Ok(out)
}

/// Forms blocks from tokens, `resolve` saying what each name refers to (None: unknown).
pub fn parse_blocks(
    tokens: &[String],
    resolve: impl Fn(&str) -> Option<Referent>,
) -> Result<Vec<Block>, BlockError> {
    let mut resolved = Vec::with_capacity(tokens.len());
    for token in tokens {
        // `a:b:c` is not `name:command`: the whole token is looked up, and is not found.
        let (name, command) = match token.split_once(':') {
            Some((name, command)) if !command.contains(':') => (name, Some(command.to_string())),
            _ => (token.as_str(), None),
        };
        let referent = resolve(name).ok_or_else(|| BlockError::NotFound(token.clone()))?;
        resolved.push((name.to_string(), command, referent));
    }

    let mut blocks = Vec::new();
    let mut index = 0;
    while index < resolved.len() {
        let (name, command, referent) = &resolved[index];
        match referent {
            Referent::Plugin(PluginType::Extractors) if command.is_none() => {
                let (block, next) = extract_load_set(&resolved, index)?;
                blocks.push(block);
                index = next;
            }
            Referent::Plugin(PluginType::Loaders | PluginType::Mappers)
            | Referent::Mapping { .. } => {
                return Err(BlockError::Set(format!(
                    "Unknown command type or bad block sequence at index {}, starting block '{name}'",
                    index + 1
                )));
            }
            Referent::Plugin(plugin_type) => {
                blocks.push(Block::Command {
                    plugin: name.clone(),
                    plugin_type: *plugin_type,
                    command: command.clone(),
                });
                index += 1;
            }
        }
    }
    Ok(blocks)
}

/// The extract-load set starting at `start` (an extractor) and the index after it.
fn extract_load_set(
    resolved: &[(String, Option<String>, Referent)],
    start: usize,
) -> Result<(Block, usize), BlockError> {
    let extractor = resolved[start].0.clone();
    let mut mappings = Vec::new();
    let mut index = start + 1;
    while let Some((name, _, referent)) = resolved.get(index) {
        match referent {
            Referent::Mapping { mapper } => {
                mappings.push(Mapping {
                    mapper: mapper.clone(),
                    name: name.clone(),
                });
                index += 1;
            }
            Referent::Plugin(PluginType::Mappers) => {
                return Err(BlockError::Set(format!(
                    "Expected unique mappings name not the mapper plugin name: {name}."
                )));
            }
            Referent::Plugin(PluginType::Loaders) => {
                return Ok((
                    Block::ExtractLoad {
                        extractor,
                        mappings,
                        loader: name.clone(),
                    },
                    index + 1,
                ));
            }
            _ if mappings.is_empty() => {
                return Err(BlockError::Set(format!(
                    "Unknown command type or bad block sequence at index {}, starting block '{name}'",
                    index + 1
                )));
            }
            _ => return Err(BlockError::Set("Expected mappers or loaders.".to_string())),
        }
    }
    Err(BlockError::Set("Loader missing in block set!".to_string()))
}

/// Meltano's state ID for an extract-load block of `meltano run`:
/// `<environment>:<extractor>-to-<loader>[:<suffix>]`.
pub fn state_id(
    environment: &str,
    extractor: &str,
    loader: &str,
    suffix: Option<&str>,
) -> Result<String, String> {
    let pair = format!("{extractor}-to-{loader}");
    let mut parts = vec![environment, pair.as_str()];
    parts.extend(suffix.filter(|s| !s.is_empty()));
    if parts.iter().any(|p| p.contains(':')) {
        return Err(
            "Cannot generate a state ID from components containing the delimiter string ':'"
                .to_string(),
        );
    }
    Ok(parts.join(":"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(name: &str) -> Option<Referent> {
        match name {
            "tap-a" | "tap-b" => Some(Referent::Plugin(PluginType::Extractors)),
            "target-a" | "target-b" => Some(Referent::Plugin(PluginType::Loaders)),
            "map" => Some(Referent::Plugin(PluginType::Mappers)),
            "hide" | "rename" => Some(Referent::Mapping {
                mapper: "map".to_string(),
            }),
            "dbt" => Some(Referent::Plugin(PluginType::Transformers)),
            _ => None,
        }
    }

    fn tokens(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn forms_blocks_left_to_right() {
        let blocks = parse_blocks(
            &tokens("tap-a hide rename target-a dbt:run tap-b target-b dbt"),
            resolve,
        )
        .unwrap();
        assert_eq!(
            blocks,
            vec![
                Block::ExtractLoad {
                    extractor: "tap-a".into(),
                    mappings: vec![
                        Mapping {
                            mapper: "map".into(),
                            name: "hide".into()
                        },
                        Mapping {
                            mapper: "map".into(),
                            name: "rename".into()
                        }
                    ],
                    loader: "target-a".into()
                },
                Block::Command {
                    plugin: "dbt".into(),
                    plugin_type: PluginType::Transformers,
                    command: Some("run".into())
                },
                Block::ExtractLoad {
                    extractor: "tap-b".into(),
                    mappings: vec![],
                    loader: "target-b".into()
                },
                Block::Command {
                    plugin: "dbt".into(),
                    plugin_type: PluginType::Transformers,
                    command: None
                },
            ]
        );
    }

    #[test]
    fn reports_malformed_sets() {
        let err = |line: &str| {
            parse_blocks(&tokens(line), resolve)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("tap-a"),
            "block violates set requirements: Loader missing in block set!"
        );
        assert_eq!(
            err("target-a tap-a"),
            "block violates set requirements: Unknown command type or bad block sequence at index 1, starting block 'target-a'"
        );
        assert_eq!(
            err("tap-a dbt target-a"),
            "block violates set requirements: Unknown command type or bad block sequence at index 2, starting block 'dbt'"
        );
        assert_eq!(
            err("tap-a hide dbt"),
            "block violates set requirements: Expected mappers or loaders."
        );
        assert_eq!(
            err("tap-a map target-a"),
            "block violates set requirements: Expected unique mappings name not the mapper plugin name: map."
        );
        assert_eq!(err("tap-a nope"), "Block nope not found");
        assert_eq!(err("dbt:run:x"), "Block dbt:run:x not found");
    }

    #[test]
    fn expands_jobs_one_level() {
        let mut jobs = IndexMap::new();
        jobs.insert(
            "daily".to_string(),
            vec!["tap-a target-a".to_string(), "dbt:run".to_string()],
        );
        jobs.insert("tap-a".to_string(), vec!["x".to_string()]);
        let expanded =
            expand_jobs(&tokens("daily tap-b target-b"), &jobs, |n| n == "tap-a").unwrap();
        assert_eq!(expanded, tokens("tap-a target-a dbt:run tap-b target-b"));
        assert_eq!(
            expand_jobs(&tokens("tap-a"), &jobs, |n| n == "tap-a").unwrap_err(),
            BlockError::Ambiguous("tap-a".to_string())
        );
    }

    #[test]
    fn state_ids() {
        assert_eq!(
            state_id("dev", "tap-a", "target-a", None).unwrap(),
            "dev:tap-a-to-target-a"
        );
        assert_eq!(
            state_id("dev", "tap-a", "target-a", Some("x")).unwrap(),
            "dev:tap-a-to-target-a:x"
        );
        assert!(state_id("dev", "tap-a", "target-a", Some("a:b")).is_err());
    }
}
