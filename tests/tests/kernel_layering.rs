//! The kernel's layering, checked on its source (no VM): `arch/` is the bottom
//! layer and imports nothing above it, and no two files of guest-kernel/src
//! import each other, directly or through others (docs/architecture.md).
use vireo_tests::layering::{name, Graph, Module};

fn kernel_graph() -> Graph {
    let src = vireo_tests::repo_root().join("guest-kernel/src");
    Graph::load(&src).unwrap_or_else(|e| panic!("cannot read {}: {e}", src.display()))
}

fn module(path: &str) -> Module {
    path.split('/').map(String::from).collect()
}

#[test]
fn the_import_graph_sees_the_whole_kernel() {
    // Guards the checks below against passing on a graph that lost its edges.
    let g = kernel_graph();
    assert!(g.modules().count() >= 50, "only {} modules found", g.modules().count());
    let main_imports: Vec<String> = g.imports(&vec![]).map(name).collect();
    for m in ["arch/x86_64/trap", "sched", "trap_handlers"] {
        assert!(main_imports.iter().any(|i| i == m), "main.rs does not import {m}: {main_imports:?}");
    }
    assert!(g.imports(&module("sched")).any(|m| m == &module("arch/x86_64/trap")));
}

#[test]
fn guest_kernel_src_has_no_import_cycles() {
    let g = kernel_graph();
    let cycles = g.cycles();
    let report: String = cycles.iter().map(|c| g.describe(c)).collect();
    assert!(cycles.is_empty(), "import cycles in guest-kernel/src:\n{report}");
}

#[test]
fn arch_imports_nothing_above_it() {
    let g = kernel_graph();
    let up: Vec<String> = g
        .edges_leaving("arch")
        .iter()
        .map(|(from, to, s)| format!("  {} -> {}  ({}:{} `{}`)", name(from), name(to), s.file, s.line, s.path))
        .collect();
    assert!(up.is_empty(), "arch/ imports modules above it:\n{}", up.join("\n"));
}
