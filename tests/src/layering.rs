//! The file-level import graph of a crate's source tree, for the layering
//! checks in `tests/tests/kernel_layering.rs`. Each `.rs` file is a module; it
//! imports the file modules its paths name (`paths.rs` finds them: `crate::`,
//! `super::`, `self::` and child-module paths, `use` trees expanded; not macro
//! invocations, comments or string literals). A path names the longest of its
//! prefixes that is a file module, and a name that module only brings in with
//! `use` (`pub use error::MmError`) is followed to where it comes from. Rust
//! allows cycles between modules; the kernel's layering does not.
mod lex;
mod paths;

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::Path;

/// A module's path from the crate root (`["arch", "x86_64", "apic"]`); the
/// root (`main.rs`/`lib.rs`) is empty.
pub type Module = Vec<String>;

/// Where an import was found: the file, line and the path as written.
#[derive(Clone, Debug)]
pub struct Site {
    pub file: String,
    pub line: usize,
    pub path: String,
}

#[derive(Debug, Default)]
pub struct Graph {
    /// Each module's file, relative to the source root.
    files: BTreeMap<Module, String>,
    /// For each module, the modules it imports and the first place it does.
    edges: BTreeMap<Module, BTreeMap<Module, Site>>,
    /// For each module, the names its top-level `use`s bind and what they
    /// name (None: another crate's item).
    uses: BTreeMap<Module, BTreeMap<String, Option<Vec<String>>>>,
}

/// `arch/x86_64/apic`, or `main` for the crate root.
pub fn name(m: &Module) -> String {
    if m.is_empty() {
        "main".into()
    } else {
        m.join("/")
    }
}

impl Graph {
    /// Builds the graph of every `.rs` file under `root`.
    pub fn load(root: &Path) -> io::Result<Graph> {
        let mut sources = BTreeMap::new();
        read_tree(root, root, &mut sources)?;
        let mut g = Graph::default();
        let mut found = BTreeMap::new();
        for (module, (file, src)) in sources {
            let f = paths::find(&module, &lex::tokens(&src));
            let uses = f.iter().filter_map(|f| Some((f.binds.clone()?, f.path.clone()))).collect();
            g.uses.insert(module.clone(), uses);
            g.files.insert(module.clone(), file);
            found.insert(module, f);
        }
        for (module, found) in found {
            let mut imports = BTreeMap::new();
            for f in found {
                let Some(target) = f.path.and_then(|p| g.target(&p, 0)).filter(|t| *t != module) else { continue };
                let site = Site { file: g.files[&module].clone(), line: f.line, path: f.written };
                imports.entry(target).or_insert(site);
            }
            g.edges.insert(module, imports);
        }
        Ok(g)
    }

    pub fn modules(&self) -> impl Iterator<Item = &Module> {
        self.files.keys()
    }

    /// The modules `m` imports.
    pub fn imports(&self, m: &Module) -> impl Iterator<Item = &Module> {
        self.edges.get(m).into_iter().flat_map(|e| e.keys())
    }

    /// Every import as (importer, imported, where).
    pub fn edges(&self) -> impl Iterator<Item = (&Module, &Module, &Site)> {
        self.edges.iter().flat_map(|(from, to)| to.iter().map(move |(t, s)| (from, t, s)))
    }

    /// Imports from modules under `top` (e.g. `arch`) to modules outside it.
    pub fn edges_leaving(&self, top: &str) -> Vec<(&Module, &Module, &Site)> {
        let inside = |m: &Module| m.first().is_some_and(|s| s == top);
        self.edges().filter(|(from, to, _)| inside(from) && !inside(to)).collect()
    }

    /// The strongly connected components with more than one module (Tarjan).
    pub fn cycles(&self) -> Vec<Vec<Module>> {
        let mut t = Tarjan {
            g: self,
            index: BTreeMap::new(),
            low: BTreeMap::new(),
            stack: vec![],
            on: BTreeSet::new(),
            out: vec![],
        };
        for m in self.files.keys() {
            if !t.index.contains_key(m) {
                t.visit(m);
            }
        }
        t.out.into_iter().filter(|c| c.len() > 1).collect()
    }

    /// A cycle's members and the imports between them, for a failure message.
    pub fn describe(&self, cycle: &[Module]) -> String {
        let names: Vec<String> = cycle.iter().map(name).collect();
        let mut s = format!("cycle of {} modules: {}\n", cycle.len(), names.join(", "));
        for (from, to, site) in self.edges().filter(|(f, t, _)| cycle.contains(f) && cycle.contains(t)) {
            s += &format!("  {} -> {}  ({}:{} `{}`)\n", name(from), name(to), site.file, site.line, site.path);
        }
        s
    }

    /// The longest prefix of `path` that is a file module.
    fn file_module(&self, path: &[String]) -> Option<Module> {
        (0..=path.len()).rev().map(|n| path[..n].to_vec()).find(|p| self.files.contains_key(p))
    }

    /// The file module `path` names; a name a module brings in with `use` is
    /// followed to where it comes from (None: another crate).
    fn target(&self, path: &[String], hops: usize) -> Option<Module> {
        let m = self.file_module(path)?;
        match path.get(m.len()).and_then(|name| self.uses.get(&m)?.get(name)) {
            Some(Some(to)) if hops < 8 => self.target(&[to.as_slice(), &path[m.len() + 1..]].concat(), hops + 1),
            Some(None) => None,
            _ => Some(m),
        }
    }
}

/// Tarjan's strongly connected components.
struct Tarjan<'g> {
    g: &'g Graph,
    index: BTreeMap<&'g Module, usize>,
    low: BTreeMap<&'g Module, usize>,
    stack: Vec<&'g Module>,
    on: BTreeSet<&'g Module>,
    out: Vec<Vec<Module>>,
}

impl<'g> Tarjan<'g> {
    fn visit(&mut self, v: &'g Module) {
        let g = self.g;
        let n = self.index.len();
        self.index.insert(v, n);
        self.low.insert(v, n);
        self.stack.push(v);
        self.on.insert(v);
        for w in g.imports(v) {
            if !self.index.contains_key(w) {
                self.visit(w);
                self.low.insert(v, self.low[v].min(self.low[w]));
            } else if self.on.contains(w) {
                self.low.insert(v, self.low[v].min(self.index[w]));
            }
        }
        if self.low[v] == self.index[v] {
            let mut component = vec![];
            while let Some(w) = self.stack.pop() {
                self.on.remove(w);
                component.push(w.clone());
                if w == v {
                    break;
                }
            }
            component.sort();
            self.out.push(component);
        }
    }
}

/// Reads every `.rs` file under `dir` into `out`, keyed by its module.
fn read_tree(root: &Path, dir: &Path, out: &mut BTreeMap<Module, (String, String)>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            read_tree(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().into_owned();
            let mut module: Module = rel.trim_end_matches(".rs").split('/').map(String::from).collect();
            if ["mod", "main", "lib"].contains(&module.last().map(String::as_str).unwrap_or("")) {
                module.pop();
            }
            out.insert(module, (rel, std::fs::read_to_string(&path)?));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// The graph of a source tree written to a fresh temporary directory.
    fn graph(files: &[(&str, &str)]) -> Graph {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let root = std::env::temp_dir().join(format!("vireo-layering-{}-{n}", std::process::id()));
        for (path, src) in files {
            let p = root.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, src).unwrap();
        }
        let g = Graph::load(&root).unwrap();
        std::fs::remove_dir_all(&root).unwrap();
        g
    }

    fn m(s: &str) -> Module {
        if s == "main" {
            vec![]
        } else {
            s.split('/').map(String::from).collect()
        }
    }

    fn imports(g: &Graph, from: &str) -> Vec<String> {
        g.imports(&m(from)).map(name).collect()
    }

    #[test]
    fn a_two_file_cycle_is_reported() {
        let g = graph(&[
            ("main.rs", "mod a;\nmod b;\nmod c;\nfn main() { a::f() }"),
            ("a.rs", "use crate::b::g;\npub fn f() { g() }"),
            ("b.rs", "pub fn g() {\n    crate::a::f()\n}"),
            ("c.rs", "use crate::a;"),
        ]);
        assert_eq!(g.cycles(), vec![vec![m("a"), m("b")]]);
        let text = g.describe(&g.cycles()[0]);
        assert!(text.contains("a -> b  (a.rs:1 `crate::b::g`)"), "{text}");
        assert!(text.contains("b -> a  (b.rs:2 `crate::a::f`)"), "{text}");
    }

    #[test]
    fn an_arch_file_importing_sched_is_reported() {
        let g = graph(&[
            ("main.rs", "mod arch;\nmod sched;"),
            ("arch/mod.rs", "pub mod cpu;"),
            ("arch/cpu.rs", "pub fn halt() { crate::sched::yield_now() }"),
            ("sched.rs", "use crate::arch::cpu;\npub fn yield_now() { cpu::halt() }"),
        ]);
        let up: Vec<_> = g.edges_leaving("arch").iter().map(|(f, t, _)| (name(f), name(t))).collect();
        assert_eq!(up, [("arch/cpu".to_string(), "sched".to_string())]);
    }

    #[test]
    fn a_macro_invocation_is_not_an_edge() {
        let g = graph(&[
            ("main.rs", "mod console;\nmod a;\nmod b;"),
            ("console.rs", "#[macro_export]\nmacro_rules! kprintln { () => {} }"),
            ("a.rs", "fn f() { crate::kprintln!(); crate::console::kprintln! {}; crate::b::g() }"),
            ("b.rs", "pub fn g() {}"),
        ]);
        assert_eq!(imports(&g, "a"), ["b"]);
    }

    #[test]
    fn paths_in_strings_and_comments_are_not_edges() {
        let src = "//! Calls crate::b::g.\n/// See [`crate::b`].\n/* crate::b /* crate::b */ */\n\
                   fn f() -> (&'static str, &'static str) { (\"crate::b::g\", r#\"crate::b\"#) }";
        let g = graph(&[("main.rs", "mod a;\nmod b;"), ("a.rs", src), ("b.rs", "")]);
        assert!(imports(&g, "a").is_empty(), "{:?}", imports(&g, "a"));
    }

    #[test]
    fn super_in_mod_rs_is_the_parent_of_its_directory() {
        // The same `super::top` names `top` from foo/mod.rs and `foo/top` from foo/bar.rs.
        let g = graph(&[
            ("main.rs", "mod foo;\nmod top;"),
            ("top.rs", ""),
            ("foo/mod.rs", "mod bar;\nmod top;\nuse super::top;\npub fn run() { bar::go() }"),
            ("foo/bar.rs", "use super::top;\npub fn go() {}\nmod tests { use super::go; }"),
            ("foo/top.rs", ""),
        ]);
        assert_eq!(imports(&g, "foo"), ["foo/bar", "top"]);
        assert_eq!(imports(&g, "foo/bar"), ["foo/top"]);
    }

    #[test]
    fn use_groups_name_each_module() {
        let g = graph(&[
            ("main.rs", "mod a;\nmod b;\nmod c;\nmod d;"),
            ("a.rs", "use crate::{b::{self, X}, c::*};\nuse self::super::d as e;"),
            ("b.rs", ""),
            ("c.rs", ""),
            ("d.rs", ""),
        ]);
        assert_eq!(imports(&g, "a"), ["b", "c", "d"]);
    }

    #[test]
    fn a_name_a_module_re_exports_is_followed_to_its_file() {
        let g = graph(&[
            ("main.rs", "mod mm;\nmod user;"),
            ("mm/mod.rs", "mod error;\nmod map;\npub use error::MmError;\npub use other_crate::Phys;\npub fn init() { map::build() }"),
            ("mm/error.rs", "pub enum MmError {}"),
            ("mm/map.rs", "use super::{MmError, Phys};\npub fn build() {}"),
            ("user.rs", "fn f() -> crate::mm::MmError { todo!() }"),
        ]);
        assert_eq!(imports(&g, "mm/map"), ["mm/error"]);
        assert_eq!(imports(&g, "user"), ["mm/error"]);
        assert!(g.cycles().is_empty(), "{:?}", g.cycles());
    }
}
