//! Tidy checks over the workspace source tree.
//!
//! Each check is a small function over one file's path or text that returns what it found,
//! so it can be unit-tested on inline strings.
//! [`check_workspace`] walks the tree with `std::fs`, skipping `target/` and hidden directories,
//! and applies to each file the checks that fit it.
//! `cargo xtask tidy` prints the result, and the `tidy` test at the bottom makes plain `cargo test`
//! enforce the checks, as rust-analyzer's `xtask/src/tidy.rs` does.

use std::{
    fmt, fs, io,
    path::{Path, PathBuf},
};

use xshell::Shell;

use crate::{Result, flags, project_root};

/// The most lines a `.rs` file may have.
const MAX_LINES: usize = 400;

/// Markers that must not appear in Rust files, with the reason.
///
/// Each marker is spelled in two halves so that this file does not contain it.
const BANNED: &[(&str, &str)] = &[
    (concat!("#[should", "_panic"), "assert the current behaviour instead (STYLE.md section 7)"),
    (
        concat!("#[ig", "nore"),
        "assert the current wrong behaviour and add a FIXME (STYLE.md section 7)",
    ),
    (concat!("to", "do!("), "finish the code or return an error"),
    (concat!("unimple", "mented!("), "finish the code or return an error"),
    (concat!("db", "g!("), "remove the debugging output"),
];

/// File extensions checked for trailing whitespace.
const WHITESPACE_EXTENSIONS: &[&str] = &["rs", "md", "toml", "sql"];

/// JSON library crates; only `persister-core/src/codec/` may name them in code.
const JSON_CRATES: &[&str] = &["sonic_rs", "serde_json"];

/// Source trees where the JSON rule applies (the testkit, tests and benches are exempt).
const JSON_RULE_DIRS: &[&str] =
    &["persister-core/src", "persister-sqlite/src", "persister-postgres/src"];

/// The one place allowed to call the JSON libraries.
const CODEC_DIR: &str = "persister-core/src/codec";

/// One broken rule in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Violation {
    /// The file, relative to the workspace root.
    pub(crate) path: PathBuf,
    /// What was found in it.
    pub(crate) finding: Finding,
}

/// What one check found in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    /// The 1-based line, or `None` when the rule is about the whole file.
    pub(crate) line: Option<usize>,
    /// What is wrong.
    pub(crate) message: String,
}

impl flags::Tidy {
    /// Runs every check over the workspace and fails listing every violation.
    pub(crate) fn run(self, _sh: &Shell) -> Result<()> {
        let violations = check_workspace(&project_root())?;
        for violation in &violations {
            println!("{violation}");
        }
        if !violations.is_empty() {
            return Err(format!("tidy: {} violation(s)", violations.len()).into());
        }
        println!("tidy: ok");
        Ok(())
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        match self.finding.line {
            Some(line) => write!(f, "{path}:{line}: {}", self.finding.message),
            None => write!(f, "{path}: {}", self.finding.message),
        }
    }
}

impl Finding {
    fn line(line: usize, message: impl Into<String>) -> Self {
        Finding { line: Some(line), message: message.into() }
    }

    fn file(message: impl Into<String>) -> Self {
        Finding { line: None, message: message.into() }
    }
}

/// Runs every check over the workspace at `root` and returns the violations, sorted by path.
///
/// Fails only if the tree cannot be read.
pub(crate) fn check_workspace(root: &Path) -> io::Result<Vec<Violation>> {
    let mut files = Vec::new();
    collect_files(root, Path::new(""), &mut files)?;
    files.sort();
    let mut violations = Vec::new();
    for path in files {
        let ext = path.extension().and_then(|ext| ext.to_str()).unwrap_or_default();
        if !WHITESPACE_EXTENSIONS.contains(&ext) {
            continue;
        }
        let text = fs::read_to_string(root.join(&path))
            .map_err(|err| io::Error::new(err.kind(), format!("{}: {err}", path.display())))?;
        let findings = check_file(&path, ext, &text);
        violations
            .extend(findings.into_iter().map(|finding| Violation { path: path.clone(), finding }));
    }
    Ok(violations)
}

/// Lists the files under `root/dir` as paths relative to `root`, skipping `target/` and hidden entries.
fn collect_files(root: &Path, dir: &Path, files: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(root.join(dir))? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = dir.join(&name);
        let file_type = entry.file_type()?;
        if file_type.is_dir() && name != "target" {
            collect_files(root, &path, files)?;
        } else if file_type.is_file() {
            files.push(path);
        }
    }
    Ok(())
}

/// Applies the checks that fit the file at `path` (relative to the root) with extension `ext`.
fn check_file(path: &Path, ext: &str, text: &str) -> Vec<Finding> {
    let mut findings = check_trailing_whitespace(text);
    if ext == "rs" {
        let in_dir =
            |dirs: &[&str]| path.components().any(|c| dirs.iter().any(|d| c.as_os_str() == *d));
        if in_dir(&["src", "tests", "benches"]) {
            findings.extend(check_module_docs(text));
        }
        findings.extend(check_banned_markers(text));
        findings.extend(check_file_name(path));
        findings.extend(check_test_binary(path));
        findings.extend(check_file_length(text));
        let json_rule = JSON_RULE_DIRS.iter().any(|dir| path.starts_with(dir));
        if json_rule && !path.starts_with(CODEC_DIR) {
            findings.extend(check_json_outside_codec(text));
        }
    }
    let is_member_manifest = path.file_name().is_some_and(|name| name == "Cargo.toml")
        && path.parent().is_some_and(|parent| !parent.as_os_str().is_empty());
    if is_member_manifest {
        findings.extend(check_cargo_lints(text));
    }
    findings
}

/// Checks that a Rust file starts with `//!` module docs.
///
/// A `#![doc = ...]` attribute also counts, for crate roots that include their README.
fn check_module_docs(text: &str) -> Vec<Finding> {
    let start = text.trim_start();
    if start.starts_with("//!") || start.starts_with("#![doc") {
        return Vec::new();
    }
    vec![Finding::file("does not start with `//!` module docs")]
}

/// Checks for attributes and macros that tests and code must not use (see [`BANNED`]).
fn check_banned_markers(text: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (index, line) in text.lines().enumerate() {
        for &(marker, reason) in BANNED {
            if contains_token(line, marker) {
                findings
                    .push(Finding::line(index + 1, format!("`{marker}` is not allowed: {reason}")));
            }
        }
    }
    findings
}

/// Checks that no line ends in a space or a tab.
fn check_trailing_whitespace(text: &str) -> Vec<Finding> {
    let lines = text.lines().enumerate();
    let trailing = lines.filter(|(_, line)| line.ends_with([' ', '\t']));
    trailing.map(|(index, _)| Finding::line(index + 1, "trailing whitespace")).collect()
}

/// Checks that a Rust file is not a grab-bag `util.rs`/`utils.rs` module (or inside a `util/` one).
fn check_file_name(path: &Path) -> Vec<Finding> {
    let grab_bag = ["util.rs", "utils.rs", "util", "utils"];
    if path.components().any(|c| grab_bag.iter().any(|name| c.as_os_str() == *name)) {
        return vec![Finding::file("no `util` modules: name the module after what it holds")];
    }
    Vec::new()
}

/// Checks that no Rust file sits directly in a `tests/` directory: each crate has one
/// integration test binary, `tests/it/main.rs`, and a test file is a module of it.
fn check_test_binary(path: &Path) -> Vec<Finding> {
    if path.parent().and_then(Path::file_name).is_some_and(|dir| dir == "tests") {
        return vec![Finding::file("a test binary of its own: make it a module of `tests/it/`")];
    }
    Vec::new()
}

/// Checks that a Rust file has at most [`MAX_LINES`] lines.
fn check_file_length(text: &str) -> Vec<Finding> {
    let lines = text.lines().count();
    if lines > MAX_LINES {
        return vec![Finding::file(format!(
            "{lines} lines, more than {MAX_LINES}: split the module"
        ))];
    }
    Vec::new()
}

/// Checks that code does not name a JSON library: JSON goes through `persister_core::codec`.
///
/// Comment lines are not code and are skipped.
fn check_json_outside_codec(text: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        for &krate in JSON_CRATES {
            if contains_token(line, krate) {
                let message =
                    format!("`{krate}` outside `{CODEC_DIR}/`: use `persister_core::codec`");
                findings.push(Finding::line(index + 1, message));
            }
        }
    }
    findings
}

/// Checks that a member crate's `Cargo.toml` has `[lints]` with `workspace = true`.
fn check_cargo_lints(text: &str) -> Vec<Finding> {
    let mut in_lints = false;
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.starts_with('[') {
            in_lints = line == "[lints]";
        } else if in_lints && line.split_whitespace().collect::<String>() == "workspace=true" {
            return Vec::new();
        }
    }
    vec![Finding::file("missing `[lints]` with `workspace = true`")]
}

/// Reports whether `line` contains `token` not glued to a neighbouring identifier character.
///
/// Only the ends of `token` that are identifier characters need a boundary,
/// so a macro marker does not match `my_` + marker, and `sonic_rs` does not match `sonic_rs_ext`.
fn contains_token(line: &str, token: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let needs_start = token.starts_with(is_ident);
    let needs_end = token.ends_with(is_ident);
    line.match_indices(token).any(|(at, _)| {
        let before_ok = !needs_start || !line[..at].ends_with(is_ident);
        let after_ok = !needs_end || !line[at + token.len()..].starts_with(is_ident);
        before_ok && after_ok
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{
        BANNED, Finding, check_banned_markers, check_cargo_lints, check_file_length,
        check_file_name, check_json_outside_codec, check_module_docs, check_test_binary,
        check_trailing_whitespace, check_workspace,
    };
    use crate::project_root;

    /// Runs `check` on `text` and compares the flagged lines (`None` is the whole file).
    #[track_caller]
    fn check(check: fn(&str) -> Vec<Finding>, text: &str, expected: &[Option<usize>]) {
        let lines: Vec<_> = check(text).iter().map(|finding| finding.line).collect();
        assert_eq!(lines, expected, "input: {text:?}");
    }

    #[test]
    fn module_docs() {
        check(check_module_docs, "//! Docs.\nfn f() {}\n", &[]);
        check(check_module_docs, "\n//! Docs after a blank line.\n", &[]);
        check(check_module_docs, "#![doc = include_str!(\"../README.md\")]\n", &[]);
        check(check_module_docs, "/// Item docs only.\nfn f() {}\n", &[None]);
        check(check_module_docs, "fn f() {}\n//! Too late.\n", &[None]);
        check(check_module_docs, "", &[None]);
    }

    #[test]
    fn banned_markers() {
        for &(marker, _) in BANNED {
            check(check_banned_markers, &format!("fn f() {{\n    {marker}\n}}\n"), &[Some(2)]);
        }
        let dbg = concat!("db", "g!(");
        check(check_banned_markers, &format!("my_{dbg}x);\n"), &[]);
        check(check_banned_markers, "// should_panic and ignore, mentioned in prose.\n", &[]);
        check(check_banned_markers, "#[test]\nfn t() {}\n", &[]);
    }

    #[test]
    fn trailing_whitespace() {
        check(check_trailing_whitespace, "clean\nlines\n", &[]);
        check(check_trailing_whitespace, "a \nb\nc\t\n", &[Some(1), Some(3)]);
        check(check_trailing_whitespace, "  indented\n\n", &[]);
    }

    #[test]
    fn file_names() {
        let flagged = |path: &str| check_file_name(Path::new(path)).len();
        assert_eq!(flagged("persister-core/src/codec/mod.rs"), 0);
        assert_eq!(flagged("persister-core/src/utility_belt.rs"), 0);
        assert_eq!(flagged("persister-core/src/utils.rs"), 1);
        assert_eq!(flagged("persister-core/src/util.rs"), 1);
        assert_eq!(flagged("persister-core/src/util/mod.rs"), 1);
    }

    #[test]
    fn test_binaries() {
        let flagged = |path: &str| check_test_binary(Path::new(path)).len();
        assert_eq!(flagged("persister-core/tests/it/main.rs"), 0);
        assert_eq!(flagged("persister-core/tests/it/cache.rs"), 0);
        assert_eq!(flagged("persister-core/tests/cache.rs"), 1);
    }

    #[test]
    fn file_length() {
        check(check_file_length, &"x\n".repeat(400), &[]);
        check(check_file_length, &"x\n".repeat(401), &[None]);
    }

    #[test]
    fn json_outside_codec() {
        check(check_json_outside_codec, "use persister_core::codec;\n", &[]);
        check(check_json_outside_codec, "let v = sonic_rs::from_str(s)?;\n", &[Some(1)]);
        check(check_json_outside_codec, "x\nlet s = serde_json::to_string(&v)?;\n", &[Some(2)]);
        check(check_json_outside_codec, "use sonic_rs;\n", &[Some(1)]);
        check(check_json_outside_codec, "/// Not `serde_json::Value`, see codec.\n", &[]);
        check(check_json_outside_codec, "let my_serde_json = 1;\n", &[]);
    }

    #[test]
    fn cargo_lints() {
        check(check_cargo_lints, "[package]\nname = \"a\"\n\n[lints]\nworkspace = true\n", &[]);
        check(check_cargo_lints, "[lints]\nworkspace=true # inherited\n", &[]);
        check(check_cargo_lints, "[package]\nname = \"a\"\n", &[None]);
        check(check_cargo_lints, "[lints]\n[dependencies]\nworkspace = true\n", &[None]);
        check(check_cargo_lints, "[lints]\nworkspace = false\n", &[None]);
    }

    /// Runs every check on the real workspace: plain `cargo test` enforces tidy.
    #[test]
    fn tidy() {
        let violations = check_workspace(&project_root()).unwrap();
        let listing: Vec<String> = violations.iter().map(ToString::to_string).collect();
        assert!(
            violations.is_empty(),
            "tidy found {} violation(s):\n{}\n",
            violations.len(),
            listing.join("\n")
        );
    }
}
