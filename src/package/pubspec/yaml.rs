//! Reading `pubspec.yaml` text into the JSON a listing serves as `pubspec`.
//!
//! granit-parser (the YAML 1.2 parser under serde-saphyr, which reads `registry.yaml`)
//! turns the text into events; this module walks them the way serde_yaml 0.9 did, because
//! serde_yaml built every listing served so far and a rebuild must serve the same bytes
//! (`golden/expected.txt` pins the outcome of many awkward inputs). Kept from serde_yaml
//! and the libyaml under it: scalar meanings (`scalar.rs`), NEL, LS and PS read as line
//! breaks (YAML 1.1), the check for control characters, the limits (128 nested
//! collections, aliases expanded at most 100 times the document's event count), merge
//! keys (`<<`) kept as ordinary keys, and the anchor numbering described at `read`.
//! Duplicate keys are refused with their line and column, as pub refuses them.

use super::Error;
use serde_json::Value as Json;
use serde_saphyr::granit_parser::{Event, Options, Parser, ScalarStyle, ScanError};
use std::collections::HashMap;
use std::ops::Range;
use walk::Walk;

#[cfg(test)]
mod tests;
mod walk;

/// Reads `text` (after its byte-order mark, if any) into JSON.
pub(super) fn to_json(text: &str) -> Result<Json, Error> {
    check_printable(text)?;
    let document = read(text)?;
    let mut walk = Walk::new(&document.nodes, &document.anchors);
    walk.value(&mut 0, 0, "")
}

/// A node event, as serde_yaml kept them.
enum Node {
    Scalar {
        text: String,
        plain: bool,
        /// The full tag (`tag:yaml.org,2002:str`, `!thing`).
        tag: Option<String>,
    },
    SequenceStart,
    MappingStart,
    End,
    /// By serde_yaml's anchor number.
    Alias(usize),
}

struct Located {
    node: Node,
    line: usize,
    column: usize,
}

#[derive(Default)]
struct Document {
    nodes: Vec<Located>,
    /// serde_yaml's anchor number → index in `nodes` of the node it names now.
    anchors: HashMap<usize, usize>,
    /// Byte range in the text of each scalar, and how it is written.
    scalars: Vec<(Range<usize>, Layout)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    Plain,
    Quoted,
    Block,
}

/// Reads the events of the one document in `text`.
///
/// libyaml (YAML 1.1) reads NEL, LS and PS as line breaks, YAML 1.2 as text. A NEL breaks a
/// line exactly like `\n`, and so does an LS or PS outside any value. Inside a quoted or
/// plain value libyaml keeps the LS or PS as text, dropping the blanks around it, which is
/// YAML 1.2's reading once those blanks are gone; where more than blanks surround it (an
/// escape, a line feed, a block scalar's indentation) the readings differ and the text is
/// refused.
///
/// Anchors are numbered as serde_yaml numbered them: by how many distinct anchor names came
/// before. Redefining a name (`&s x` … `&s y`) thus gives the redefinition the number the
/// next new anchor also gets, and aliases of the redefined name take whichever of the two
/// comes last in the document (pub takes the latest definition before the alias).
fn read(text: &str) -> Result<Document, Error> {
    if !text.contains(['\u{85}', '\u{2028}', '\u{2029}']) {
        return parse(text);
    }
    // libyaml's structure: every NEL, LS and PS a line break.
    let (as_breaks, separators) = rewrite(text, &|_| true, &[]);
    let document = parse(&as_breaks)?;
    let mut kept = Vec::new();
    let mut blanks = Vec::new();
    for (at, original) in separators {
        let inside = document
            .scalars
            .iter()
            .find(|(range, _)| range.contains(&at));
        let Some((_, layout)) = inside else {
            continue;
        };
        let Some(around) = kept_as_text(text, original, *layout) else {
            let (line, column) = position(&as_breaks, at);
            return Err(ambiguous_separator(text, original, line, column));
        };
        kept.push(original);
        blanks.extend(around);
    }
    if kept.is_empty() {
        return Ok(document);
    }
    parse(&rewrite(text, &|offset| !kept.contains(&offset), &blanks).0)
}

/// `text` with each NEL, and each LS and PS for which `breaks` holds, as `\n`, leaving out
/// the bytes in `skip`; and where each LS and PS went: (offset in the result, in `text`).
fn rewrite(
    text: &str,
    breaks: &dyn Fn(usize) -> bool,
    skip: &[Range<usize>],
) -> (String, Vec<(usize, usize)>) {
    let mut out = String::with_capacity(text.len());
    let mut moved = Vec::new();
    for (offset, c) in text.char_indices() {
        if skip.iter().any(|range| range.contains(&offset)) {
            continue;
        }
        let is_separator = matches!(c, '\u{2028}' | '\u{2029}');
        if is_separator {
            moved.push((out.len(), offset));
        }
        if c == '\u{85}' || (is_separator && breaks(offset)) {
            // A lone CR before it is a break of its own, not half of a CRLF.
            if out.ends_with('\r') {
                out.pop();
                out.push('\n');
            }
            out.push('\n');
        } else {
            out.push(c);
        }
    }
    (out, moved)
}

/// The blanks around the separator at `offset` that libyaml drops, if it keeps the
/// separator as text the way YAML 1.2 reads it; `None` if the readings differ.
fn kept_as_text(text: &str, offset: usize, layout: Layout) -> Option<[Range<usize>; 2]> {
    let is_blank = |c: char| c == ' ' || c == '\t';
    // Another LS or PS next to it stays text too; a line feed would fold differently.
    let is_line_feed = |c: char| matches!(c, '\n' | '\r' | '\u{85}');
    let end = offset + text[offset..].chars().next()?.len_utf8();
    let before = text[..offset].trim_end_matches(is_blank);
    let after = text[end..].trim_start_matches(is_blank);
    let (last, next) = (before.chars().next_back(), after.chars().next());
    let differs = layout == Layout::Block
        || last.is_some_and(|c| is_line_feed(c) || c == '\\')
        || next.is_some_and(is_line_feed)
        || after.starts_with("---")
        || after.starts_with("...")
        // In a plain value, an indicator next to the break means something else to libyaml.
        || (layout == Layout::Plain
            && (last == Some(':') || next.is_some_and(|c| c.is_ascii_punctuation())));
    (!differs).then(|| [before.len()..offset, end..text.len() - after.len()])
}

fn ambiguous_separator(text: &str, offset: usize, line: usize, column: usize) -> Error {
    let character = text[offset..].chars().next().unwrap_or_default();
    let name = if character == '\u{2028}' {
        "line separator"
    } else {
        "paragraph separator"
    };
    let code = u32::from(character);
    yaml_error(
        line,
        column,
        format!(
            "U+{code:04X} ({name}) inside a value at line {line}, column {column} reads as a line break in YAML 1.1 and as text in YAML 1.2, and here the two readings differ; write it as `\\u{code:04X}` in a double-quoted string, or use a real line break"
        ),
    )
}

fn parse(text: &str) -> Result<Document, Error> {
    let mut options = Options::default();
    options.emit_anchor_events = true;
    // libyaml's readings, which the listings were built with.
    options.block_scalar_eof_without_line_feed = true;
    options.bom_inside_document_as_content = true;
    options.set_emit_comments(false);
    let mut document = Document::default();
    // Anchor name → serde_yaml number; the parser's anchor id → serde_yaml number.
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut numbers: HashMap<usize, usize> = HashMap::new();
    let mut started = false;
    for next in Parser::new_from_str_with_options(text, options) {
        let (event, span) = next.map_err(|e| syntax_error(&e))?;
        let (line, column) = (span.start.line(), span.start.col() + 1);
        let node = match event {
            Event::DocumentStart(..) if started => {
                return Err(yaml_error(
                    line,
                    column,
                    format!(
                        "a second YAML document starts at line {line}, column {column}; pub reads one, so remove the `---` or `...` and what follows"
                    ),
                ));
            }
            Event::DocumentStart(..) => {
                started = true;
                continue;
            }
            Event::Scalar(value, style, _, tag) => {
                let range = span.start.byte_offset().unwrap_or_default()
                    ..span.end.byte_offset().unwrap_or_default();
                let layout = match style {
                    ScalarStyle::Plain => Layout::Plain,
                    ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => Layout::Quoted,
                    _ => Layout::Block,
                };
                document.scalars.push((range, layout));
                Node::Scalar {
                    text: value.into_owned(),
                    plain: style == ScalarStyle::Plain,
                    tag: tag.map(|t| format!("{}{}", t.handle(), t.suffix())),
                }
            }
            Event::SequenceStart(..) => Node::SequenceStart,
            Event::MappingStart(..) => Node::MappingStart,
            Event::SequenceEnd | Event::MappingEnd => Node::End,
            Event::Alias(id) => Node::Alias(numbers.get(&id).copied().ok_or_else(|| {
                yaml_error(
                    line,
                    column,
                    format!("an alias at line {line}, column {column} names no anchor"),
                )
            })?),
            Event::Anchor(id, name) => {
                let number = names.len();
                names.insert(name.into_owned(), number);
                numbers.insert(id, number);
                // The parser sends an anchor right after the node it names.
                let named = document.nodes.len().saturating_sub(1);
                document.anchors.insert(number, named);
                continue;
            }
            _ => continue,
        };
        document.nodes.push(Located { node, line, column });
    }
    if document.nodes.is_empty() {
        // No document, or an empty one: null, as serde_yaml read it.
        let node = Node::Scalar {
            text: String::new(),
            plain: true,
            tag: None,
        };
        document.nodes.push(Located {
            node,
            line: 1,
            column: 1,
        });
    }
    Ok(document)
}

/// libyaml refuses characters outside YAML's printable set anywhere, comments included.
fn check_printable(text: &str) -> Result<(), Error> {
    let printable = |c: char| matches!(c, '\t' | '\n' | '\r' | ' '..='~' | '\u{85}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..);
    let Some((offset, c)) = text.char_indices().find(|(_, c)| !printable(*c)) else {
        return Ok(());
    };
    let (line, column) = position(text, offset);
    Err(yaml_error(
        line,
        column,
        format!(
            "the control character U+{:04X} at line {line}, column {column} is not allowed in YAML; remove it, or write it as `\\u{:04X}` in a double-quoted string",
            u32::from(c),
            u32::from(c),
        ),
    ))
}

/// 1-based line and column (in characters) of a byte offset.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

fn syntax_error(err: &ScanError) -> Error {
    let (line, column) = (err.marker().line(), err.marker().col() + 1);
    yaml_error(
        line,
        column,
        format!("{} at line {line}, column {column}", err.info()),
    )
}

fn yaml_error(line: usize, column: usize, message: String) -> Error {
    Error::Yaml {
        line: Some(line),
        column: Some(column),
        message,
    }
}
