//! Turning the document's events into JSON, as serde_yaml's deserializer did: aliases
//! expanded where they stand, scalar keys as text, duplicate keys refused.

use super::{Located, Node, yaml_error};
use crate::package::pubspec::Error;
use crate::package::pubspec::scalar::{self, Refusal, Scalar};
use serde_json::{Map, Value as Json};
use std::collections::HashMap;

/// Collections nested deeper than this are refused (serde_yaml's recursion limit).
const MAX_DEPTH: usize = 128;
/// Alias expansions allowed per event of the document (serde_yaml's repetition limit),
/// which keeps a few lines of aliases from expanding into gigabytes.
const EXPANSIONS_PER_EVENT: usize = 100;
/// Nodes aliases may add in all. serde_yaml had no such bound: an anchored list of 20,000
/// items aliased 30,000 times fits in an upload's 128 KiB and expanded into 600 million
/// values, exhausting memory; no real pubspec comes near this.
const MAX_ALIAS_NODES: usize = 100_000;

/// A mapping key, resolved.
#[derive(Clone)]
struct Key {
    text: String,
    scalar: Scalar,
    /// A local tag, which makes `!a k` a different YAML key from `k`.
    tag: Option<String>,
    line: usize,
    column: usize,
}

/// Turns the events into JSON as serde_yaml's deserializer did.
pub(super) struct Walk<'a> {
    nodes: &'a [Located],
    anchors: &'a HashMap<usize, usize>,
    expansions: usize,
    max_expansions: usize,
    /// Nodes read so far, counting each alias's nodes again.
    read: usize,
    /// Where the latest alias followed stands.
    alias_at: (usize, usize),
}

impl<'a> Walk<'a> {
    pub(super) fn new(nodes: &'a [Located], anchors: &'a HashMap<usize, usize>) -> Self {
        Walk {
            nodes,
            anchors,
            expansions: 0,
            max_expansions: nodes.len() * EXPANSIONS_PER_EVENT,
            read: 0,
            alias_at: (1, 1),
        }
    }

    fn next(&mut self, pos: &mut usize) -> Result<&'a Located, Error> {
        let nodes: &'a [Located] = self.nodes;
        let node = nodes.get(*pos).ok_or_else(|| unbalanced(nodes.last()))?;
        *pos += 1;
        self.read += 1;
        if self.read > nodes.len() + MAX_ALIAS_NODES {
            let (line, column) = self.alias_at;
            return Err(yaml_error(
                line,
                column,
                format!(
                    "aliases add more than {MAX_ALIAS_NODES} values to the document (at line {line}, column {column}); write the values out instead"
                ),
            ));
        }
        Ok(node)
    }

    /// Whether `pos` is at the end of the collection being read; steps past it if so.
    fn end(&self, pos: &mut usize) -> bool {
        let at_end = matches!(
            self.nodes.get(*pos),
            Some(Located {
                node: Node::End,
                ..
            })
        );
        *pos += usize::from(at_end);
        at_end
    }

    /// The index of the node an alias names.
    fn expand(&mut self, alias: &Located, number: usize) -> Result<usize, Error> {
        self.expansions += 1;
        self.alias_at = (alias.line, alias.column);
        if self.expansions > self.max_expansions {
            let (line, column) = (alias.line, alias.column);
            return Err(yaml_error(
                line,
                column,
                format!(
                    "aliases expand the document beyond {EXPANSIONS_PER_EVENT} times its size (at line {line}, column {column}); write the values out instead"
                ),
            ));
        }
        self.anchors
            .get(&number)
            .copied()
            .ok_or_else(|| unbalanced(Some(alias)))
    }

    /// Counts one more collection around what comes next.
    fn enter(at: &Located, depth: usize) -> Result<usize, Error> {
        if depth >= MAX_DEPTH {
            let (line, column) = (at.line, at.column);
            return Err(yaml_error(
                line,
                column,
                format!(
                    "collections are nested more than {MAX_DEPTH} deep at line {line}, column {column}"
                ),
            ));
        }
        Ok(depth + 1)
    }

    pub(super) fn value(
        &mut self,
        pos: &mut usize,
        depth: usize,
        path: &str,
    ) -> Result<Json, Error> {
        let at = self.next(pos)?;
        match &at.node {
            Node::Alias(number) => {
                let mut target = self.expand(at, *number)?;
                self.value(&mut target, depth, path)
            }
            Node::Scalar { text, plain, tag } => {
                let what = format!("`{}`", place(path));
                match resolve(at, text, *plain, tag.as_deref(), &what)? {
                    Scalar::Null => Ok(Json::Null),
                    Scalar::Bool(b) => Ok(Json::Bool(b)),
                    Scalar::PosInt(u) => Ok(Json::from(u)),
                    Scalar::NegInt(i) => Ok(Json::from(i)),
                    // JSON has no spelling for NaN and the infinities.
                    Scalar::Float(f) => serde_json::Number::from_f64(f)
                        .map(Json::Number)
                        .ok_or_else(|| Error::NotJson {
                            path: path.to_string(),
                            value: scalar::float_text(f),
                        }),
                    Scalar::Text(s) => Ok(Json::String(s)),
                }
            }
            Node::SequenceStart => {
                let depth = Self::enter(at, depth)?;
                let mut items = Vec::new();
                while !self.end(pos) {
                    let item = self.value(pos, depth, &format!("{path}[{}]", items.len()))?;
                    items.push(item);
                }
                Ok(Json::Array(items))
            }
            Node::MappingStart => {
                let depth = Self::enter(at, depth)?;
                self.mapping(pos, depth, path)
            }
            Node::End => Err(unbalanced(Some(at))),
        }
    }

    /// Scalar keys become their text; keys equal as YAML values, or equal once read as
    /// text (`1` and `"1"`), are refused.
    fn mapping(&mut self, pos: &mut usize, depth: usize, path: &str) -> Result<Json, Error> {
        let mut object = Map::new();
        let mut seen: HashMap<String, Key> = HashMap::new();
        // A float zero key, which equals `-0.0` as a YAML value but not as text.
        let mut zero: Option<Key> = None;
        while !self.end(pos) {
            let key = self.key(pos, path)?;
            let child = if path.is_empty() {
                key.text.clone()
            } else {
                format!("{path}.{}", key.text)
            };
            let value = self.value(pos, depth, &child)?;
            let is_zero = matches!(key.scalar, Scalar::Float(f) if f == 0.0);
            let same_text = seen.get(&key.text);
            let first = same_text.or(zero.as_ref().filter(|_| is_zero));
            if let Some(first) = first {
                if scalar::same_value(&first.scalar, &key.scalar) && first.tag == key.tag {
                    return Err(duplicate(path, &key, first));
                }
                if same_text.is_some() {
                    return Err(Error::DuplicateKey {
                        path: place(path),
                        key: key.text,
                        line: key.line,
                        column: key.column,
                    });
                }
            }
            object.insert(key.text.clone(), value);
            if is_zero {
                zero = Some(key.clone());
            }
            seen.insert(key.text.clone(), key);
        }
        Ok(Json::Object(object))
    }

    fn key(&mut self, pos: &mut usize, path: &str) -> Result<Key, Error> {
        let at = self.next(pos)?;
        match &at.node {
            Node::Alias(number) => {
                let mut target = self.expand(at, *number)?;
                let key = self.key(&mut target, path)?;
                Ok(Key {
                    line: at.line,
                    column: at.column,
                    ..key
                })
            }
            Node::Scalar { text, plain, tag } => {
                let what = format!("a key under `{}`", place(path));
                let scalar = resolve(at, text, *plain, tag.as_deref(), &what)?;
                Ok(Key {
                    text: scalar::key_text(&scalar),
                    scalar,
                    tag: tag.clone().filter(|t| t.starts_with('!')),
                    line: at.line,
                    column: at.column,
                })
            }
            Node::SequenceStart => Err(Error::ComplexKey {
                path: place(path),
                found: "a list",
            }),
            Node::MappingStart => Err(Error::ComplexKey {
                path: place(path),
                found: "a map",
            }),
            Node::End => Err(unbalanced(Some(at))),
        }
    }
}

fn resolve(
    at: &Located,
    text: &str,
    plain: bool,
    tag: Option<&str>,
    what: &str,
) -> Result<Scalar, Error> {
    let (line, column) = (at.line, at.column);
    scalar::resolve(text, plain, tag).map_err(|refusal| {
        let message = match refusal {
            Refusal::NotOfTag(kind) => {
                let tag = tag.unwrap_or_default().replace("tag:yaml.org,2002:", "!!");
                format!("{what} at line {line}, column {column} is tagged `{tag}`, but `{text}` is not {kind}; remove the tag or fix the value")
            }
            Refusal::TooBig => format!("{what} at line {line}, column {column} is the integer {text}, beyond the 64 bits a listing holds; quote it to keep it as text"),
        };
        yaml_error(line, column, message)
    })
}

fn duplicate(path: &str, key: &Key, first: &Key) -> Error {
    let (line, column) = (key.line, key.column);
    let under = if path.is_empty() {
        String::new()
    } else {
        format!(" under `{path}`")
    };
    yaml_error(
        line,
        column,
        format!(
            "the key `{}`{under} appears again at line {line}, column {column} (first at line {}); a map holds each key once, so remove one",
            key.text, first.line
        ),
    )
}

/// The parser's events never leave a collection open or close one twice; if they did,
/// this says where rather than panicking.
fn unbalanced(at: Option<&Located>) -> Error {
    let (line, column) = at.map_or((1, 1), |at| (at.line, at.column));
    yaml_error(
        line,
        column,
        format!("unbalanced YAML structure near line {line}, column {column}"),
    )
}

/// A node's path for messages; the root's is empty.
fn place(path: &str) -> String {
    if path.is_empty() {
        "(top level)".to_string()
    } else {
        path.to_string()
    }
}
