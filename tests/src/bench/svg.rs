//! A hand-written SVG of boot phases: panels of rows, each row a sequence of
//! phase bars on a common linear axis, every phase labelled on its bar or,
//! when the bar is too narrow, just below it with a leader line.

use std::fmt::Write as _;

/// What a panel's axis counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Microseconds of host wall time.
    Micros,
    /// Guest instructions.
    Instructions,
}

impl Unit {
    fn fmt(self, v: f64) -> String {
        match self {
            Unit::Micros => crate::bench::stats::fmt_us(v),
            Unit::Instructions => format!("{} insns", crate::bench::stats::fmt_insns(v)),
        }
    }

    fn tick(self, v: f64, step: f64) -> String {
        if v == 0.0 {
            return "0".into();
        }
        match self {
            Unit::Micros if step >= 1e5 => format!("{} s", trim(v / 1e6)),
            Unit::Micros if step >= 100.0 => format!("{} ms", trim(v / 1e3)),
            Unit::Micros => format!("{} us", trim(v)),
            Unit::Instructions if step >= 1e5 => format!("{} M", trim(v / 1e6)),
            Unit::Instructions if step >= 100.0 => format!("{} k", trim(v / 1e3)),
            Unit::Instructions => trim(v),
        }
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

/// One phase: a bar from `start` to `end`.
#[derive(Clone, Debug, PartialEq)]
pub struct Segment {
    pub start: f64,
    pub end: f64,
    pub label: String,
}

/// A point event drawn as a tick across the bar.
#[derive(Clone, Debug, PartialEq)]
pub struct Marker {
    pub at: f64,
    pub label: String,
}

/// One VMM (or one measurement) as a row of bars.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub name: String,
    /// Second line under the name (e.g. "median of 20").
    pub note: String,
    pub segments: Vec<Segment>,
    pub markers: Vec<Marker>,
}

/// A titled panel with its own axis.
#[derive(Clone, Debug, PartialEq)]
pub struct Panel {
    pub title: String,
    pub unit: Unit,
    pub rows: Vec<Row>,
    /// Axis range; segments outside are clipped.
    pub from: f64,
    pub to: f64,
}

const W: f64 = 1200.0;
const LEFT: f64 = 200.0;
const RIGHT: f64 = 40.0;
const BAR_H: f64 = 20.0;
const LANE_H: f64 = 14.0;
const CHAR_W: f64 = 6.4;
const PALETTE: [&str; 10] =
    ["#8ecae6", "#ffd166", "#95d5b2", "#f4a261", "#cdb4db", "#a8dadc", "#f28482", "#bde0fe", "#e9c46a", "#b5e48c"];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn text_w(s: &str) -> f64 {
    s.chars().count() as f64 * CHAR_W
}

/// A "nice" tick step (1, 2 or 5 times a power of ten) giving about `n` ticks.
pub fn nice_step(span: f64, n: f64) -> f64 {
    if span <= 0.0 || !span.is_finite() {
        return 1.0;
    }
    let raw = span / n;
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let m = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    m * mag
}

struct Placed {
    anchor: f64,
    left: f64,
    right: f64,
    lane: usize,
    text: String,
    end_anchor: bool,
}

/// Assigns below-bar labels to lanes so that none overlap.
fn place(mut items: Vec<(f64, String)>, xmax: f64) -> Vec<Placed> {
    items.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut lanes: Vec<f64> = Vec::new();
    let mut out = Vec::new();
    for (anchor, text) in items {
        let w = text_w(&text);
        let (left, right, end_anchor) = if anchor + w + 2.0 > xmax {
            (anchor - w - 2.0, anchor, true)
        } else {
            (anchor + 2.0, anchor + w + 2.0, false)
        };
        let lane = match lanes.iter().position(|&r| r + 10.0 <= left) {
            Some(i) => i,
            None => {
                lanes.push(f64::NEG_INFINITY);
                lanes.len() - 1
            }
        };
        lanes[lane] = right;
        out.push(Placed { anchor, left, right, lane, text, end_anchor });
    }
    out
}

fn row_svg(s: &mut String, row: &Row, p: &Panel, y: f64) -> f64 {
    let pw = W - LEFT - RIGHT;
    let span = (p.to - p.from).max(f64::MIN_POSITIVE);
    let x = |v: f64| LEFT + (v.clamp(p.from, p.to) - p.from) / span * pw;
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" font-size="12" font-weight="bold" text-anchor="end">{}</text>"#,
        LEFT - 8.0,
        y + 13.0,
        esc(&row.name)
    );
    if !row.note.is_empty() {
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" font-size="10" fill="#555" text-anchor="end">{}</text>"##,
            LEFT - 8.0,
            y + 26.0,
            esc(&row.note)
        );
    }
    let mut below: Vec<(f64, String)> = Vec::new();
    let mut inside: Vec<(f64, String, &str)> = Vec::new();
    for (i, seg) in row.segments.iter().enumerate() {
        if seg.end < p.from || seg.start > p.to || seg.end < seg.start {
            continue;
        }
        let (x0, x1) = (x(seg.start), x(seg.end));
        let clipped = seg.end > p.to;
        let color = PALETTE[i % PALETTE.len()];
        let _ = writeln!(
            s,
            r##"<rect x="{x0:.1}" y="{y:.1}" width="{:.1}" height="{BAR_H}" fill="{color}" stroke="#333" stroke-width="0.5"><title>{}</title></rect>"##,
            (x1 - x0).max(0.8),
            esc(&format!("{}: {}", seg.label, p.unit.fmt(seg.end - seg.start)))
        );
        let text =
            format!("{} {}{}", seg.label, p.unit.fmt(seg.end - seg.start), if clipped { " \u{2192}" } else { "" });
        if text_w(&text) + 8.0 <= x1 - x0 {
            inside.push(((x0 + x1) / 2.0, text, color));
        } else {
            below.push(((x0 + x1) / 2.0, text));
        }
    }
    for m in &row.markers {
        if m.at < p.from || m.at > p.to {
            continue;
        }
        let xm = x(m.at);
        // Ticks above and below the bar (not across it, where labels sit).
        let _ = writeln!(
            s,
            r##"<path d="M{xm:.1},{:.1}V{:.1}M{xm:.1},{:.1}V{:.1}" stroke="#000" stroke-width="2"/>"##,
            y - 4.0,
            y + 5.0,
            y + BAR_H - 5.0,
            y + BAR_H + 4.0
        );
        below.push((xm, format!("\u{25b2} {} @ {}", m.label, p.unit.fmt(m.at))));
    }
    // In-bar labels last, haloed in the bar's colour, so a marker never strikes through them.
    for (xm, text, color) in inside {
        let _ = writeln!(
            s,
            r#"<text x="{xm:.1}" y="{:.1}" font-size="11" text-anchor="middle" stroke="{color}" stroke-width="3" paint-order="stroke">{}</text>"#,
            y + 14.0,
            esc(&text)
        );
    }
    let placed = place(below, W - 4.0);
    let lanes = placed.iter().map(|p| p.lane + 1).max().unwrap_or(0);
    // Leaders first, then the labels over them with a white halo, so a
    // leader running down to a lower lane never strikes through a label.
    for pl in &placed {
        let ty = y + BAR_H + 14.0 + pl.lane as f64 * LANE_H;
        let _ = writeln!(
            s,
            r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#888" stroke-width="0.7"/>"##,
            pl.anchor,
            y + BAR_H,
            pl.anchor,
            ty - 9.0
        );
    }
    for pl in &placed {
        let ty = y + BAR_H + 14.0 + pl.lane as f64 * LANE_H;
        let (tx, anchor) = if pl.end_anchor { (pl.right, "end") } else { (pl.left, "start") };
        let _ = writeln!(
            s,
            r##"<text x="{tx:.1}" y="{ty:.1}" font-size="11" text-anchor="{anchor}" stroke="#fff" stroke-width="3" paint-order="stroke">{}</text>"##,
            esc(&pl.text)
        );
    }
    BAR_H + 14.0 + lanes as f64 * LANE_H + 8.0
}

fn axis_svg(s: &mut String, p: &Panel, y: f64) -> f64 {
    let pw = W - LEFT - RIGHT;
    let span = (p.to - p.from).max(f64::MIN_POSITIVE);
    let step = nice_step(span, 8.0);
    let _ = writeln!(s, r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#000"/>"##, W - RIGHT);
    let mut v = (p.from / step).ceil() * step;
    let mut n = 0;
    while v <= p.to + step * 1e-9 && n < 100 {
        let xv = LEFT + (v - p.from) / span * pw;
        let _ = writeln!(
            s,
            r##"<line x1="{xv:.1}" y1="{y:.1}" x2="{xv:.1}" y2="{:.1}" stroke="#000"/><text x="{xv:.1}" y="{:.1}" font-size="10" text-anchor="middle">{}</text>"##,
            y + 4.0,
            y + 15.0,
            esc(&p.unit.tick(v, step))
        );
        v += step;
        n += 1;
    }
    24.0
}

/// Renders the whole figure.
pub fn render(title: &str, subtitle: &[String], panels: &[Panel], footer: &[String]) -> String {
    let mut body = String::new();
    let mut y = 28.0;
    let _ = writeln!(body, r#"<text x="12" y="{y}" font-size="16" font-weight="bold">{}</text>"#, esc(title));
    y += 6.0;
    for line in subtitle {
        y += 15.0;
        let _ = writeln!(body, r##"<text x="12" y="{y}" font-size="11" fill="#333">{}</text>"##, esc(line));
    }
    for p in panels {
        y += 30.0;
        let _ = writeln!(body, r#"<text x="12" y="{y}" font-size="13" font-weight="bold">{}</text>"#, esc(&p.title));
        y += 14.0;
        for row in &p.rows {
            // Grid line under the row names for readability.
            y += row_svg(&mut body, row, p, y);
        }
        y += axis_svg(&mut body, p, y);
    }
    for line in footer {
        y += 15.0;
        let _ = writeln!(body, r##"<text x="12" y="{y}" font-size="10" fill="#555">{}</text>"##, esc(line));
    }
    y += 14.0;
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{y:.0}\" viewBox=\"0 0 {W} {y:.0}\" font-family=\"DejaVu Sans, Arial, sans-serif\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n{body}</svg>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Panel {
        Panel {
            title: "host wall time".into(),
            unit: Unit::Micros,
            from: 0.0,
            to: 10_000.0,
            rows: vec![Row {
                name: "vmm-harness".into(),
                note: "median of 3".into(),
                segments: vec![
                    Segment { start: 0.0, end: 50.0, label: "exec".into() },
                    Segment { start: 50.0, end: 6000.0, label: "kernel <init>".into() },
                    Segment { start: 6000.0, end: 20_000.0, label: "tail".into() },
                    Segment { start: 30_000.0, end: 40_000.0, label: "off-axis".into() },
                ],
                markers: vec![Marker { at: 700.0, label: "first serial byte".into() }],
            }],
        }
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(10_000.0, 8.0), 2000.0);
        assert_eq!(nice_step(1_000.0, 10.0), 100.0);
        assert_eq!(nice_step(700.0, 8.0), 100.0);
        assert_eq!(nice_step(0.0, 8.0), 1.0);
    }

    #[test]
    fn renders_labels_and_escapes() {
        let svg = render("t & t", &["host".into()], &[sample()], &["foot".into()]);
        assert!(svg.starts_with("<svg "));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("t &amp; t"));
        // A wide bar holds its label; a narrow one gets it below with a leader.
        assert!(svg.contains("kernel &lt;init&gt; 5.95 ms"));
        assert!(svg.contains(">exec 50 us<"));
        assert!(svg.contains("first serial byte @ 700 us"));
        // Clipped at the axis end; off-axis segments are not drawn.
        assert!(svg.contains("tail 14.00 ms \u{2192}"));
        assert!(!svg.contains("off-axis"));
        assert!(svg.contains(">10 ms<"));
        assert!(svg.contains(">0<"));
    }

    #[test]
    fn labels_do_not_overlap() {
        let items = (0..5).map(|i| (300.0 + i as f64 * 5.0, "a long label".to_string())).collect();
        let placed = place(items, W);
        for (i, a) in placed.iter().enumerate() {
            for b in &placed[i + 1..] {
                assert!(a.lane != b.lane || a.right + 10.0 <= b.left || b.right + 10.0 <= a.left);
            }
        }
        // Near the right edge the label ends at its anchor.
        let p = place(vec![(W - 10.0, "edge".into())], W);
        assert!(p[0].end_anchor && p[0].right <= W);
    }
}
