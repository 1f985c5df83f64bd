//! The checked-in shell completions (`completions/`) and man pages (`man/`)
//! match what `conductor::generated` renders from the command definitions.
//! With `UPDATE_GENERATED=1` the tests rewrite them instead.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const REGENERATE: &str = "UPDATE_GENERATED=1 cargo test --test integration generated";

#[test]
fn completions_are_current() {
    check_generated("completions", conductor::generated::completions());
}

#[test]
fn man_pages_are_current() {
    check_generated("man", conductor::generated::man_pages());
}

/// Compares the files of `dir` (at the repository root) with `files`, or
/// rewrites them, removing stale ones, when `UPDATE_GENERATED=1`.
fn check_generated(dir: &str, files: Vec<(PathBuf, Vec<u8>)>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let expected: BTreeMap<PathBuf, Vec<u8>> = files.into_iter().collect();
    assert!(!expected.is_empty(), "nothing generated for {dir}/");
    for path in expected.keys() {
        assert!(
            path.parent() == Some(Path::new(dir)),
            "{} is not directly under {dir}/",
            path.display()
        );
    }
    let present = files_in(&root.join(dir), dir);

    let differing: Vec<&PathBuf> = expected
        .iter()
        .filter(|(path, content)| std::fs::read(root.join(path)).ok().as_ref() != Some(*content))
        .map(|(path, _)| path)
        .collect();
    let extra: Vec<&PathBuf> = present
        .iter()
        .filter(|path| !expected.contains_key(*path))
        .collect();

    if std::env::var_os("UPDATE_GENERATED").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(root.join(dir)).expect("create the directory");
        for path in &differing {
            std::fs::write(root.join(path), &expected[*path]).expect("write a generated file");
        }
        for path in &extra {
            std::fs::remove_file(root.join(path)).expect("remove a stale file");
        }
        return;
    }

    let mut stale: Vec<String> = differing
        .iter()
        .map(|path| {
            let state = if present.contains(*path) {
                "out of date"
            } else {
                "missing"
            };
            format!("  {} ({state})", path.display())
        })
        .collect();
    stale.extend(
        extra
            .iter()
            .map(|path| format!("  {} (no longer generated)", path.display())),
    );
    assert!(
        stale.is_empty(),
        "generated files under {dir}/ are stale:\n{}\nrun `{REGENERATE}` and commit the result",
        stale.join("\n")
    );
}

/// The files directly in `dir`, as paths `prefix/name`.
fn files_in(dir: &Path, prefix: &str) -> BTreeSet<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeSet::new();
    };
    entries
        .map(|entry| entry.expect("read the directory"))
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
        .map(|entry| Path::new(prefix).join(entry.file_name()))
        .collect()
}
