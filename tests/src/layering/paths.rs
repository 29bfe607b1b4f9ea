//! The module paths one file names, read from its tokens: every path that
//! starts with `crate`, `super`, `self` or a module the file declares, `use`
//! trees expanded (`a::{b, c::{self, d}}`), made absolute from the crate
//! root. Macro invocations (`crate::kprintln!`) and `mod x;` declarations name
//! no module. Top-level `use`s are also recorded with the name they bind, so
//! that a path through a re-export can be followed to what it names.
use super::lex::{Tok, Token};
use super::Module;
use std::collections::BTreeSet;

pub(super) struct Found {
    /// From the crate root; None for an item of another crate.
    pub path: Option<Vec<String>>,
    pub line: usize,
    /// The path as written, for messages.
    pub written: String,
    /// The name a top-level `use` binds in the file's module.
    pub binds: Option<String>,
}

/// One path of a `use` tree (or a lone path) and the name it binds.
struct Leaf {
    path: Vec<String>,
    binds: Option<String>,
}

pub(super) fn find(module: &Module, toks: &[Token]) -> Vec<Found> {
    let ident = |k: usize| match toks.get(k).map(|t| &t.tok) {
        Some(Tok::Ident(s)) => Some(s.as_str()),
        _ => None,
    };
    let is = |k: usize, tok: Tok| toks.get(k).map(|t| &t.tok) == Some(&tok);
    let children: BTreeSet<&str> =
        (0..toks.len()).filter(|&k| ident(k) == Some("mod")).filter_map(|k| ident(k + 1)).collect();
    let mut found = vec![];
    // Inline `mod x { .. }` blocks the scan is inside: (name, brace depth inside it).
    let mut inline: Vec<(String, usize)> = vec![];
    let (mut depth, mut i) = (0, 0);
    while i < toks.len() {
        let (leaves, end) = match &toks[i].tok {
            Tok::Punct('{') => {
                depth += 1;
                (vec![], i + 1)
            }
            Tok::Punct('}') => {
                if inline.last().is_some_and(|&(_, d)| d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
                (vec![], i + 1)
            }
            Tok::Ident(kw) if kw == "mod" && ident(i + 1).is_some() => {
                if is(i + 2, Tok::Punct('{')) {
                    inline.push((ident(i + 1).unwrap_or_default().to_string(), depth + 1));
                }
                (vec![], i + 2)
            }
            Tok::Ident(kw) if kw == "use" => {
                let (mut leaves, end) = use_tree(toks, i + 1);
                if depth > 0 {
                    leaves.iter_mut().for_each(|l| l.binds = None); // local to a block
                }
                (leaves, end)
            }
            Tok::Ident(first)
                if is(i + 1, Tok::PathSep)
                    && !is(i.wrapping_sub(1), Tok::PathSep)
                    && !is(i.wrapping_sub(1), Tok::Punct('.'))
                    && (["crate", "super", "self"].contains(&first.as_str())
                        || (inline.is_empty() && children.contains(first.as_str()))) =>
            {
                let (leaves, end) = use_tree(toks, i);
                let macro_call = leaves.len() == 1 && is(end, Tok::Punct('!'));
                (if macro_call { vec![] } else { leaves }, end)
            }
            _ => (vec![], i + 1),
        };
        let mut scope = module.clone();
        scope.extend(inline.iter().map(|(n, _)| n.clone()));
        for leaf in leaves {
            let path = absolute(&scope, module, &children, &leaf.path);
            if path.is_some() || leaf.binds.is_some() {
                found.push(Found { path, line: toks[i].line, written: leaf.path.join("::"), binds: leaf.binds });
            }
        }
        i = end;
    }
    found
}

/// `path` from the crate root, if it starts with `crate`, `self`, `super` or
/// a module the file declares; `scope` is the file's module plus the inline
/// modules the path is written in.
fn absolute(scope: &Module, module: &Module, children: &BTreeSet<&str>, path: &[String]) -> Option<Vec<String>> {
    let mut segs = path.iter().filter(|s| *s != "self").peekable();
    let mut base = match path[0].as_str() {
        "crate" => {
            segs.next();
            vec![]
        }
        "self" | "super" => scope.clone(),
        child if children.contains(child) => module.clone(),
        _ => return None,
    };
    while segs.peek().is_some_and(|s| *s == "super") {
        segs.next();
        base.pop();
    }
    base.extend(segs.cloned());
    Some(base)
}

/// The leaves of the path or `use` tree starting at token `k`, and the index after it.
fn use_tree(toks: &[Token], mut k: usize) -> (Vec<Leaf>, usize) {
    let tok = |k: usize| toks.get(k).map(|t| &t.tok);
    let mut prefix: Vec<String> = vec![];
    while let Some(Tok::Ident(s)) = tok(k) {
        prefix.push(s.clone());
        k += 1;
        if tok(k) != Some(&Tok::PathSep) {
            break;
        }
        k += 1;
        match tok(k) {
            Some(Tok::Punct('{')) => {
                let mut leaves = vec![];
                k += 1;
                while k < toks.len() && toks[k].tok != Tok::Punct('}') {
                    let (sub, next) = use_tree(toks, k);
                    leaves.extend(sub.into_iter().map(|l| Leaf { path: [prefix.clone(), l.path].concat(), ..l }));
                    k = next.max(k + 1); // past a `,`
                }
                return (leaves, k + 1);
            }
            Some(Tok::Punct('*')) => return (vec![Leaf { path: prefix, binds: None }], k + 1),
            _ => {}
        }
    }
    if prefix.is_empty() {
        return (vec![], k);
    }
    let mut binds = prefix.iter().rev().find(|s| *s != "self").cloned();
    if let (Some(Tok::Ident(kw)), Some(Tok::Ident(alias))) = (tok(k), tok(k + 1)) {
        if kw == "as" {
            binds = Some(alias.clone());
            k += 2;
        }
    }
    (vec![Leaf { path: prefix, binds }], k)
}
