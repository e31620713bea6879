//! The project's layout rules that a reader relies on: every function defined in place of a
//! libc/libssl one lives in src/seams.rs and has a row in its table, and every dependency in
//! Cargo.toml is used by the code.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src/") {
        let p = entry.expect("dir entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The names of the functions a source defines with `#[unsafe(no_mangle)]`.
fn overrides(src: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut lines = src.lines();
    while let Some(l) = lines.next() {
        if !l.trim().starts_with("#[unsafe(no_mangle)]") {
            continue;
        }
        for next in lines.by_ref() {
            if let Some(rest) = next.split("fn ").nth(1) {
                names.push(rest.split('(').next().unwrap_or("").trim().to_string());
                break;
            }
        }
    }
    names
}

#[test]
fn every_override_lives_in_seams_and_has_a_table_row() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut elsewhere = Vec::new();
    for f in &files {
        let rel = f
            .strip_prefix(root())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if rel == "src/seams.rs" || rel.starts_with("src/bin/") {
            continue;
        }
        let names = overrides(&std::fs::read_to_string(f).unwrap());
        if !names.is_empty() {
            elsewhere.push(format!("{rel}: {names:?}"));
        }
    }
    assert!(
        elsewhere.is_empty(),
        "no_mangle functions outside src/seams.rs: {elsewhere:?}"
    );
    let seams = std::fs::read_to_string(root().join("src/seams.rs")).unwrap();
    let names = overrides(&seams);
    assert!(names.len() >= 7, "seams.rs defines {names:?}");
    let table: Vec<&str> = seams
        .lines()
        .filter(|l| l.starts_with("//! | [`"))
        .collect();
    for n in &names {
        assert!(
            table
                .iter()
                .any(|row| row.starts_with(&format!("//! | [`{n}`]"))),
            "src/seams.rs defines {n} but its table has no row for it"
        );
    }
    assert_eq!(table.len(), names.len(), "table rows without an override");
}

#[test]
fn every_dependency_is_used() {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let deps = manifest
        .split("[dependencies]")
        .nth(1)
        .expect("a [dependencies] table")
        .split("\n[")
        .next()
        .unwrap();
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let code: String = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    for line in deps.lines() {
        let Some((name, _)) = line.split_once('=') else {
            continue;
        };
        let name = name.trim();
        if name.is_empty() || name.starts_with('#') {
            continue;
        }
        let path = name.replace('-', "_");
        assert!(
            code.contains(&format!("{path}::")) || code.contains(&format!("use {path}")),
            "Cargo.toml depends on {name}, but nothing in src/ uses it"
        );
    }
}
