//! The dovecot.conf parser: reads the files line by line, keeps the stack of open sections
//! and filters, and sets values in one settings tree per filter (Dovecot's config-parser.c).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::ConfigError;
use super::expand::{expand, Lookup};
use super::filter::{parse_net, Filter};
use super::include::InputStack;
use super::lexer::{lex, Line};
use super::obsolete::Obsolete;
use super::schema::{self, SettingType};
use super::tree::{Applied, Origin, SetMeta, Slot, Tree};
use super::values::section_escape;

/// How values are treated while parsing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ParseOptions {
    /// Expand every `$name` (otherwise only self-references such as `$mail_plugins x`, as
    /// `doveconf -n` does).
    pub expand_vars: bool,
    pub files: FileValues,
}

/// What happens to `key = <path` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileValues {
    /// The value is the text `<path` (`doveconf` without `-x`).
    Literal,
    /// String settings keep `<path` and remember the file, read when asked for; other
    /// settings read the file now, since their value must be checked.
    Lazy,
    /// Every file is read now (`doveconf -x`).
    Read,
}

/// The settings of one filter block (the first is the global one).
#[derive(Debug, Clone)]
pub(crate) struct FilterTree {
    pub filter: Filter,
    pub tree: Tree,
    /// Where the filter was first opened, `F:N` (the global one: just the file).
    pub origin: String,
}

/// A parsed configuration: the trees, before the whole-config checks.
#[derive(Debug, Clone)]
pub(crate) struct Parsed {
    pub path: PathBuf,
    pub filters: Vec<FilterTree>,
    /// Sections still open at the end of input: `Missing '}'`, reported after parsing.
    pub unclosed: Option<(Arc<Path>, u32)>,
}

/// One open section or filter.
struct Frame {
    /// The section keyword (`None` for the top level).
    key: Option<String>,
    filter: Filter,
    /// Index of the filter tree settings go to.
    tree: usize,
    /// The path length to restore when the section closes.
    saved_pathlen: usize,
    opened: (Arc<Path>, u32),
    is_filter: bool,
}

pub(super) struct Parser {
    opts: ParseOptions,
    pub(super) inputs: InputStack,
    pub(super) filters: Vec<FilterTree>,
    frames: Vec<Frame>,
    /// The current path plus key (`service/imap/` + `process_limit=...`), Dovecot's ctx->str.
    pub(super) path: String,
    pub(super) pathlen: usize,
    counter: u32,
    pub(super) error: Option<String>,
    /// Full key path to the first place it was set inside a section or filter.
    seen: HashMap<String, String>,
    pub(super) warnings: Vec<String>,
    pub(super) obsolete: Obsolete,
}

/// The type of a value-setting line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ValueKind {
    Plain,
    File,
    Variable,
}

/// Parses `path` and everything it includes. Warnings go to `warnings` as they are found,
/// also when parsing then fails (Dovecot logs them before its error).
pub(crate) fn parse(
    path: &Path,
    opts: ParseOptions,
    warnings: &mut Vec<String>,
) -> Result<Parsed, ConfigError> {
    let inputs = InputStack::open(path).map_err(|error| {
        ConfigError::plain(format!(
            "open({}) failed: {}",
            path.display(),
            crate::errtext::os_error_text(&error)
        ))
    })?;
    let root_path: Arc<Path> = Arc::from(path);
    let mut parser = Parser {
        opts,
        inputs,
        filters: vec![FilterTree {
            filter: Filter::default(),
            tree: Tree::new(),
            origin: path.display().to_string(),
        }],
        frames: vec![Frame {
            key: None,
            filter: Filter::default(),
            tree: 0,
            saved_pathlen: 0,
            opened: (root_path, 0),
            is_filter: false,
        }],
        path: String::new(),
        pathlen: 0,
        counter: 0,
        error: None,
        seen: HashMap::new(),
        warnings: Vec::new(),
        obsolete: Obsolete::default(),
    };
    let result = parser.run();
    warnings.append(&mut parser.warnings);
    result?;
    let unclosed = (parser.frames.len() > 1)
        .then(|| parser.frames.last().map(|f| f.opened.clone()))
        .flatten();
    Ok(Parsed {
        path: path.to_path_buf(),
        filters: parser.filters,
        unclosed,
    })
}

/// No configuration at all: every setting at its default (`doveconf -d`).
pub(crate) fn defaults_only(path: &Path) -> Parsed {
    Parsed {
        path: path.to_path_buf(),
        filters: vec![FilterTree {
            filter: Filter::default(),
            tree: Tree::new(),
            origin: path.display().to_string(),
        }],
        unclosed: None,
    }
}

impl Parser {
    fn run(&mut self) -> Result<(), ConfigError> {
        let mut pending = String::new();
        while let Some(raw) = self.inputs.next_line() {
            let lexed = lex(&raw, &mut pending);
            if lexed.ambiguous_hash {
                let (file, line) = self.inputs.position();
                self.warnings.push(format!(
                    "Configuration file {} line {}: Ambiguous '#' character in line, treating \
                     it as comment. Add a space before it to remove this warning.",
                    file.display(),
                    line
                ));
            }
            self.path.truncate(self.pathlen);
            if lexed.line == Line::Continue {
                continue;
            }
            if !self.handle_obsolete(&lexed.line) {
                self.apply(lexed.line);
            }
            if let Some(message) = self.error.take() {
                let (file, line) = self.inputs.position();
                return Err(ConfigError::at_line(&file, line, message));
            }
            pending.clear();
        }
        Ok(())
    }

    /// Applies one line (after the obsolete-setting rewrites), Dovecot's
    /// `config_parser_apply_line`.
    pub(super) fn apply(&mut self, line: Line) {
        self.path.truncate(self.pathlen);
        match line {
            Line::Skip | Line::Continue => {}
            Line::Error(message) => self.error = Some(message.to_string()),
            Line::KeyValue { key, value } => self.apply_value(&key, &value, ValueKind::Plain),
            Line::KeyFile { key, path } => self.apply_value(&key, &path, ValueKind::File),
            Line::KeyVariable { key, value } => self.apply_value(&key, &value, ValueKind::Variable),
            Line::SectionBegin { key, name } => self.begin_section(&key, &name),
            Line::SectionEnd => {
                if self.frames.len() == 1 {
                    self.error = Some("Unexpected '}'".to_string());
                } else if let Some(frame) = self.frames.pop() {
                    self.pathlen = frame.saved_pathlen;
                }
            }
            Line::Include { pattern, try_only } => {
                let pattern = self.inputs.resolve(&pattern);
                if let Err(message) = self.inputs.include(&pattern, try_only) {
                    self.error = Some(message);
                }
            }
        }
    }

    pub(super) fn apply_value(&mut self, key: &str, value: &str, kind: ValueKind) {
        self.path.push_str(key);
        self.warn_global_after_filter(key);
        self.path.push('=');
        let Some((text, file)) = self.value_text(key, value, kind) else {
            return;
        };
        self.path.push_str(&text);
        let line = self.path.clone();
        self.apply_path_line(key, &line, None, file);
    }

    fn current(&self) -> &Frame {
        // The top-level frame is never popped.
        &self.frames[self.frames.len() - 1]
    }

    pub(super) fn at_top_level(&self) -> bool {
        self.frames.len() == 1
    }

    pub(super) fn current_tree(&self) -> usize {
        self.current().tree
    }

    pub(super) fn current_filter(&self) -> &Filter {
        &self.current().filter
    }

    /// Sets `line` (`path/key=value`) in the current filter's tree, Dovecot's
    /// `config_apply_line`. `section_name` is given when the line opens a section.
    pub(super) fn apply_path_line(
        &mut self,
        key: &str,
        line: &str,
        section_name: Option<&str>,
        file: Option<PathBuf>,
    ) -> bool {
        self.apply_line_to(self.current().tree, key, line, section_name, file)
    }

    pub(super) fn apply_line_to(
        &mut self,
        tree_index: usize,
        key: &str,
        line: &str,
        section_name: Option<&str>,
        file: Option<PathBuf>,
    ) -> bool {
        let Some((full_key, value)) = line.split_once('=') else {
            self.error = Some("Missing '='".to_string());
            return false;
        };
        if full_key.is_empty() {
            self.error = Some("Missing key name ('=' at the beginning of line)".to_string());
            return false;
        }
        let (file_name, linenum) = self.inputs.position();
        let meta = SetMeta {
            origin: Some(Origin {
                file: file_name,
                line: linenum,
            }),
            file,
        };
        let tree = &mut self.filters[tree_index].tree;
        let applied = match tree.set(full_key, value, &meta) {
            Ok(Some(applied)) => applied,
            Ok(None) => {
                self.error = Some(format!("Unknown setting: {}", self.full_path(key)));
                return false;
            }
            Err(message) => {
                self.error = Some(message);
                return false;
            }
        };
        let top = full_key.split('/').next().unwrap_or(full_key);
        let is_auth = schema::root().setting(top).is_some_and(|def| def.auth);
        if is_auth && self.current().filter.is_local_or_remote() {
            self.error = Some(format!(
                "Auth settings not supported inside local/remote blocks: {key}"
            ));
            return false;
        }
        if let Some(name) = section_name {
            if let Err(message) = self.name_section(tree_index, applied, full_key, value, name) {
                self.error = Some(message.to_string());
                return false;
            }
        }
        true
    }

    /// A section was opened by `key=value`: store its name in the section's name setting
    /// (Dovecot's `config_add_type`).
    fn name_section(
        &mut self,
        tree_index: usize,
        applied: Applied,
        full_key: &str,
        value: &str,
        name: &str,
    ) -> Result<(), &'static str> {
        const NOT_ALLOWED: &str = "Section not allowed here";
        match applied {
            Applied::StrListEntry => Err(NOT_ALLOWED),
            Applied::StrList => Ok(()),
            // Dovecot asserts (crashes) here; an error is kinder.
            Applied::Scalar(info) if info.name_key.is_some() => Err(NOT_ALLOWED),
            Applied::Scalar(_) => Ok(()),
            Applied::Sections(info) => {
                let Some(name_key) = info.name_key else {
                    return Ok(());
                };
                let tree = &mut self.filters[tree_index].tree;
                let name_path = format!("{full_key}/{value}/{name_key}");
                match tree.set(&name_path, name, &SetMeta::default()) {
                    Ok(Some(_)) => Ok(()),
                    _ => Err(NOT_ALLOWED),
                }
            }
        }
    }

    /// `service { process_limit` for error messages: the open sections (not filters), then
    /// the key.
    fn full_path(&self, key: &str) -> String {
        let mut out = String::new();
        for frame in &self.frames {
            if let (false, Some(section)) = (frame.is_filter, &frame.key) {
                out.push_str(section);
                out.push_str(" { ");
            }
        }
        out.push_str(key);
        out
    }

    /// The value to store: as written, a file's contents, or with variables expanded; plus
    /// the file to read later for a lazily kept `<file`. `None` when an error was set.
    fn value_text(
        &mut self,
        key: &str,
        value: &str,
        kind: ValueKind,
    ) -> Option<(String, Option<PathBuf>)> {
        match kind {
            ValueKind::Plain => Some((value.to_string(), None)),
            ValueKind::File => {
                let full_key = self.path[..self.path.len() - 1].to_string();
                let resolved = self.inputs.resolve(value);
                let read_now = match self.opts.files {
                    FileValues::Literal => false,
                    FileValues::Lazy => !self.is_string_setting(&full_key),
                    FileValues::Read => true,
                };
                if !read_now {
                    let later = (self.opts.files == FileValues::Lazy).then_some(resolved);
                    return Some((format!("<{value}"), later));
                }
                match std::fs::read(&resolved) {
                    Ok(bytes) => Some((String::from_utf8_lossy(&bytes).into_owned(), None)),
                    Err(error) => {
                        let message = if error.kind() == std::io::ErrorKind::IsADirectory {
                            format!(
                                "{full_key}: read({}) failed: {}",
                                resolved.display(),
                                crate::errtext::os_error_text(&error)
                            )
                        } else {
                            format!(
                                "{full_key}: Can't open file {}: {}",
                                resolved.display(),
                                crate::errtext::os_error_text(&error)
                            )
                        };
                        self.error = Some(message);
                        None
                    }
                }
            }
            ValueKind::Variable => {
                let expand_all = self.opts.expand_vars;
                let result = expand(key, value, expand_all, |name, self_reference| {
                    self.variable(name, self_reference)
                });
                match result {
                    Ok(text) => Some((text, None)),
                    Err(message) => {
                        self.error = Some(message);
                        None
                    }
                }
            }
        }
    }

    /// Whether `full_key` names a string setting (or a free-form entry, or nothing known):
    /// such `<file` values can wait until someone reads them.
    fn is_string_setting(&self, full_key: &str) -> bool {
        match self.filters[self.current().tree].tree.get(full_key) {
            Some((def, _)) => matches!(def.ty, SettingType::Str | SettingType::StrVars),
            None => true,
        }
    }

    /// The value of `$name` (Dovecot's `config_get_value`): looked up in the current filter's
    /// tree; for a self-reference not set in this filter, in the enclosing ones.
    fn variable(&self, name: &str, self_reference: bool) -> Lookup {
        let mut depth = self.frames.len();
        loop {
            let frame = &self.frames[depth - 1];
            let Some((_, slot)) = self.filters[frame.tree].tree.get(name) else {
                return Lookup::Unknown;
            };
            match slot {
                Slot::Scalar(scalar) => {
                    if !self_reference || depth == 1 || scalar.changed {
                        return Lookup::Value(scalar.value.export().unwrap_or_default());
                    }
                    depth -= 1;
                }
                _ => return Lookup::Invalid,
            }
        }
    }

    /// Dovecot's "Global setting X won't change the setting inside an earlier filter" check:
    /// remembers where a path was first set inside a section, and warns when a top-level line
    /// sets it again.
    fn warn_global_after_filter(&mut self, key: &str) {
        let first = self.seen.get(&self.path);
        if self.at_top_level() {
            if let Some(first) = first {
                let (file, line) = self.inputs.position();
                let warning = format!(
                    "{} line {}: Global setting {} won't change the setting inside an earlier \
                     filter at {} (if this is intentional, avoid this warning by moving the \
                     global setting before {})",
                    file.display(),
                    line,
                    key,
                    first,
                    first
                );
                self.warnings.push(warning);
            }
            return;
        }
        if first.is_some() {
            return;
        }
        let (file, line) = self.inputs.position();
        self.seen.insert(
            self.path.clone(),
            format!("{} line {}", file.display(), line),
        );
    }

    fn begin_section(&mut self, key: &str, name: &str) {
        let parent = self.current();
        let frame = Frame {
            key: Some(key.to_string()),
            filter: parent.filter.clone(),
            tree: parent.tree,
            saved_pathlen: self.pathlen,
            opened: self.inputs.position(),
            is_filter: false,
        };
        self.frames.push(frame);
        if self.begin_filter(key, name) {
            return;
        }
        let section_name = if name.is_empty() {
            let counter = self.counter;
            self.counter += 1;
            counter.to_string()
        } else {
            section_escape(name)
        };
        self.path.push_str(key);
        self.pathlen = self.path.len();
        self.path.push('=');
        self.path.push_str(&section_name);
        let line = self.path.clone();
        if !self.apply_path_line(key, &line, Some(name), None) {
            return;
        }
        self.path.truncate(self.pathlen);
        self.path.push('/');
        self.path.push_str(&section_name);
        self.path.push('/');
        self.pathlen = self.path.len();
    }

    /// `protocol`, `local`, `remote` and `local_name` blocks: checks the nesting rules and
    /// switches to the filter's tree. False if `key` is not a filter keyword.
    fn begin_filter(&mut self, key: &str, value: &str) -> bool {
        let depth = self.frames.len();
        let parent = self.frames[depth - 2].filter.clone();
        let mut filter = parent.clone();
        let error: Option<String> = match key {
            "protocol" => {
                if parent.service.is_some() {
                    Some("Nested protocol { protocol { .. } } block not allowed".into())
                } else {
                    filter.service = Some(value.to_string());
                    None
                }
            }
            "local" => {
                if parent.remote_bits() > 0 {
                    Some(
                        "remote { local { .. } } not allowed (use local { remote { .. } } instead)"
                            .into(),
                    )
                } else if parent.service.is_some() {
                    Some("protocol { local { .. } } not allowed (use local { protocol { .. } } instead)".into())
                } else if parent.local_name.is_some() {
                    Some("local_name { local { .. } } not allowed (use local { local_name { .. } } instead)".into())
                } else {
                    match parse_net(value) {
                        Err(message) => Some(message),
                        Ok(net) => {
                            let outside = parent.local.is_some_and(|p| {
                                p.bits > net.bits || (p.bits > 0 && !p.contains(&net.ip))
                            });
                            filter.local = Some(net);
                            outside.then(|| {
                                "local net1 { local net2 { .. } } requires net2 to be inside net1"
                                    .to_string()
                            })
                        }
                    }
                }
            }
            "local_name" => {
                if parent.remote_bits() > 0 {
                    Some("remote { local_name { .. } } not allowed (use local_name { remote { .. } } instead)".into())
                } else if parent.service.is_some() {
                    Some("protocol { local_name { .. } } not allowed (use local_name { protocol { .. } } instead)".into())
                } else {
                    filter.local_name = Some(value.to_string());
                    None
                }
            }
            "remote" => {
                if parent.service.is_some() {
                    Some("protocol { remote { .. } } not allowed (use remote { protocol { .. } } instead)".into())
                } else {
                    match parse_net(value) {
                        Err(message) => Some(message),
                        Ok(net) => {
                            let outside = parent.remote.is_some_and(|p| {
                                p.bits > net.bits || (p.bits > 0 && !p.contains(&net.ip))
                            });
                            filter.remote = Some(net);
                            outside.then(|| {
                                "remote net1 { remote net2 { .. } } requires net2 to be inside net1"
                                    .to_string()
                            })
                        }
                    }
                }
            }
            _ => return false,
        };
        if let Some(message) = error {
            self.error = Some(message);
        }
        let tree = match self
            .filters
            .iter()
            .position(|f| same_filter(&f.filter, &filter))
        {
            Some(index) => index,
            None => {
                let (file, line) = self.inputs.position();
                self.filters.push(FilterTree {
                    filter: filter.clone(),
                    tree: Tree::new(),
                    origin: format!("{}:{}", file.display(), line),
                });
                self.filters.len() - 1
            }
        };
        let frame = &mut self.frames[depth - 1];
        frame.filter = filter;
        frame.tree = tree;
        frame.is_filter = true;
        true
    }
}

/// Dovecot's `config_filters_equal`: `local_name` compares case-insensitively.
fn same_filter(a: &Filter, b: &Filter) -> bool {
    a.service == b.service
        && a.local == b.local
        && a.remote == b.remote
        && match (&a.local_name, &b.local_name) {
            (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
            (None, None) => true,
            _ => false,
        }
}
