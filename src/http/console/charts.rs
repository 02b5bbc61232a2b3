//! The reports page's charts, drawn on the server as SVG: no script and no
//! third-party library to load, the same picture with or without
//! JavaScript. Pure functions from numbers to markup; every text in them
//! is escaped here. Sizes come from the viewBox (the page scales it) and
//! colours from classes in console.css, so the CSP needs no inline style.

use std::fmt::Write;

/// Escapes text for SVG/HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// How a value axis picks its ticks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scale {
    Count,
    /// Seconds: ticks on whole minutes and hours once past a minute.
    Seconds,
    /// Always 0–100.
    Percent,
}

/// One named run of values, one per category (None: nothing that day).
pub struct Series {
    pub name: String,
    /// The CSS class that colours it (`ch-created`, …).
    pub class: &'static str,
    pub values: Vec<Option<f64>>,
}

/// A chart over categories (days or weeks): grouped bars and lines on the
/// left axis, optionally one more line on its own axis on the right, and
/// a dashed benchmark line.
pub struct Chart<'a> {
    /// The accessible name: what the chart says, in a sentence.
    pub label: &'a str,
    /// One label per category; only some are printed under the axis.
    pub x: &'a [String],
    pub bars: Vec<Series>,
    pub lines: Vec<Series>,
    pub right: Option<Series>,
    pub scale: Scale,
    /// (value on the left axis, its label).
    pub benchmark: Option<(f64, String)>,
    /// Writes a value of the left (and right) axis for people.
    pub fmt: &'a dyn Fn(f64) -> String,
}

const W: f64 = 640.0;
const H: f64 = 240.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 24.0;
const LEFT: f64 = 56.0;
/// Divisions of a value axis (the right axis shares the left's gridlines).
const DIVISIONS: f64 = 4.0;

fn nice_count(raw: f64) -> f64 {
    let raw = raw.max(1.0);
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
        .max(1.0)
        .ceil()
}

fn nice_seconds(raw: f64) -> f64 {
    const STEPS: [f64; 17] = [
        5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 10800.0, 21600.0, 43200.0,
        86400.0, 172800.0,
    ];
    STEPS
        .iter()
        .copied()
        .find(|s| *s >= raw)
        .unwrap_or_else(|| (raw / 86400.0).ceil() * 86400.0)
}

/// The top of an axis that holds `max`, split in [`DIVISIONS`].
pub fn axis_top(max: f64, scale: Scale) -> f64 {
    let step = match scale {
        Scale::Percent => return 100.0,
        Scale::Count => nice_count(max / DIVISIONS),
        Scale::Seconds => nice_seconds(max / DIVISIONS),
    };
    step * DIVISIONS
}

/// A number for people: whole where it is whole, else one decimal.
pub fn plain(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

fn max_of<'a>(s: impl Iterator<Item = &'a Series>) -> f64 {
    s.flat_map(|s| s.values.iter().flatten().copied()).fold(0.0, f64::max)
}

/// A line's path: runs of consecutive values, broken where a day has
/// none; a lone point gets a dot, as do all when there are few.
fn line(out: &mut String, s: &Series, xs: &[f64], y: &dyn Fn(f64) -> f64, dots: bool) {
    let mut d = String::new();
    let v = &s.values;
    for (i, p) in v.iter().enumerate() {
        let Some(p) = p else { continue };
        let joined = i > 0 && v[i - 1].is_some();
        let _ = write!(d, "{}{:.1},{:.1} ", if joined { 'L' } else { 'M' }, xs[i], y(*p));
    }
    if !d.is_empty() {
        let _ = write!(out, r#"<path class="ch-line {}" d="{}"/>"#, s.class, d.trim_end());
    }
    for (i, p) in v.iter().enumerate() {
        let Some(p) = p else { continue };
        let alone = (i == 0 || v[i - 1].is_none()) && v.get(i + 1).is_none_or(|n| n.is_none());
        if dots || alone {
            let _ = write!(
                out,
                r#"<circle class="ch-dot {}" cx="{:.1}" cy="{:.1}" r="3"/>"#,
                s.class,
                xs[i],
                y(*p)
            );
        }
    }
}

/// Draws the chart as an `<svg>` with `role="img"` and its label.
pub fn chart(c: &Chart) -> String {
    let n = c.x.len().max(1);
    let right_pad = if c.right.is_some() { 56.0 } else { 16.0 };
    let (x0, x1, y0, y1) = (LEFT, W - right_pad, TOP, H - BOTTOM);
    let band = (x1 - x0) / n as f64;
    let mut max = max_of(c.bars.iter().chain(c.lines.iter()));
    if let Some((b, _)) = &c.benchmark {
        max = max.max(b * 1.15);
    }
    let top = axis_top(max, c.scale);
    let y = |v: f64| y1 - (v / top).clamp(0.0, 1.0) * (y1 - y0);
    let xs: Vec<f64> = (0..n).map(|i| x0 + band * (i as f64 + 0.5)).collect();

    let mut out = format!(
        r#"<svg class="ch" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{}" focusable="false">"#,
        esc(c.label)
    );
    // Gridlines and the left axis's ticks.
    for i in 0..=DIVISIONS as usize {
        let v = top * i as f64 / DIVISIONS;
        let _ = write!(
            out,
            r#"<line class="{}" x1="{x0}" x2="{x1}" y1="{yy:.1}" y2="{yy:.1}"/><text class="ch-tick" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            if i == 0 { "ch-axis" } else { "ch-grid" },
            x0 - 6.0,
            y(v) + 4.0,
            esc(&(c.fmt)(v)),
            yy = y(v),
        );
    }
    // Every k-th category is named, so labels never overlap.
    let every = n.div_ceil(8);
    for (i, label) in c.x.iter().enumerate().filter(|(i, _)| i % every == 0) {
        let _ = write!(
            out,
            r#"<text class="ch-tick" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            xs[i],
            H - 6.0,
            esc(label)
        );
    }
    // Bars: a group per category, at most 36 units wide.
    if !c.bars.is_empty() {
        let group = (band * 0.8).min(36.0);
        let w = group / c.bars.len() as f64;
        for (k, s) in c.bars.iter().enumerate() {
            for (i, v) in s.values.iter().enumerate().take(n) {
                let Some(v) = v.filter(|v| *v > 0.0) else { continue };
                let x = xs[i] - group / 2.0 + w * k as f64;
                let _ = write!(
                    out,
                    r#"<rect class="ch-bar {}" x="{x:.1}" y="{:.1}" width="{:.1}" height="{:.1}"><title>{}: {} {}</title></rect>"#,
                    s.class,
                    y(v),
                    (w - 0.6).max(0.6),
                    y1 - y(v),
                    esc(&c.x[i]),
                    esc(&s.name),
                    esc(&(c.fmt)(v))
                );
            }
        }
    }
    if let Some((b, label)) = &c.benchmark {
        let by = y(*b);
        // The label sits above the line, or under it near the top.
        let ty = if by - y0 < 14.0 { by + 13.0 } else { by - 5.0 };
        let _ = write!(
            out,
            r#"<line class="ch-bench" x1="{x0}" x2="{x1}" y1="{by:.1}" y2="{by:.1}" stroke-dasharray="6 4"/><text class="ch-bench-label" x="{:.1}" y="{ty:.1}" text-anchor="end">{}</text>"#,
            x1 - 4.0,
            esc(label)
        );
    }
    let dots = n <= 31;
    for s in &c.lines {
        line(&mut out, s, &xs, &y, dots);
    }
    if let Some(r) = &c.right {
        let rtop = axis_top(max_of(std::iter::once(r)), Scale::Count);
        let ry = |v: f64| y1 - (v / rtop).clamp(0.0, 1.0) * (y1 - y0);
        for i in 0..=DIVISIONS as usize {
            let v = rtop * i as f64 / DIVISIONS;
            let _ = write!(
                out,
                r#"<text class="ch-tick {}" x="{:.1}" y="{:.1}">{}</text>"#,
                r.class,
                x1 + 6.0,
                ry(v) + 4.0,
                esc(&(c.fmt)(v))
            );
        }
        line(&mut out, r, &xs, &ry, dots);
    }
    out.push_str("</svg>");
    out
}

/// The weekday × hour heatmap: a row per weekday (`days`, Monday first),
/// a column per local hour, each cell shaded by its count relative to the
/// busiest and titled with `cell(day, hour, count)`.
pub fn heatmap(
    label: &str,
    days: &[String],
    cells: &[[i64; 24]; 7],
    cell: &dyn Fn(usize, usize, i64) -> String,
) -> String {
    const HW: f64 = 620.0;
    const LABELS: f64 = 92.0;
    const HEAD: f64 = 18.0;
    const CH: f64 = 24.0;
    let cw = (HW - LABELS - 4.0) / 24.0;
    let hh = HEAD + CH * 7.0 + 4.0;
    let max = cells.iter().flatten().copied().max().unwrap_or(0).max(1);
    let mut out = format!(
        r#"<svg class="ch hm" viewBox="0 0 {HW} {hh}" width="{HW}" height="{hh}" role="img" aria-label="{}" focusable="false">"#,
        esc(label)
    );
    for h in 0..24 {
        let _ = write!(
            out,
            r#"<text class="ch-tick" x="{:.1}" y="{:.1}" text-anchor="middle">{h:02}</text>"#,
            LABELS + cw * (h as f64 + 0.5),
            HEAD - 6.0
        );
    }
    for (d, row) in cells.iter().enumerate() {
        let top = HEAD + CH * d as f64;
        let name = days.get(d).map(String::as_str).unwrap_or("");
        let _ = write!(
            out,
            r#"<text class="ch-day" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            LABELS - 8.0,
            top + CH / 2.0 + 4.0,
            esc(name)
        );
        for (h, count) in row.iter().enumerate() {
            let level = heat_level(*count, max);
            let x = LABELS + cw * h as f64;
            let _ = write!(
                out,
                r#"<rect class="hm{level}" x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" rx="3"><title>{}</title></rect>"#,
                x + 1.0,
                top + 1.0,
                cw - 2.0,
                CH - 2.0,
                esc(&cell(d, h, *count))
            );
            if *count > 0 {
                let _ = write!(
                    out,
                    r#"<text class="hm-n{}" x="{:.1}" y="{:.1}" text-anchor="middle">{count}</text>"#,
                    if level >= 4 { " hm-on-dark" } else { "" },
                    x + cw / 2.0,
                    top + CH / 2.0 + 4.0
                );
            }
        }
    }
    out.push_str("</svg>");
    out
}

/// 0 for nothing, then 1–5 by the share of the busiest cell.
pub fn heat_level(count: i64, max: i64) -> i64 {
    if count <= 0 {
        return 0;
    }
    ((count * 5 + max - 1) / max.max(1)).clamp(1, 5)
}

/// One day's bar of an uptime strip: its uptime in percent (None: not
/// checked that day) and what its tooltip says.
pub struct UptimeDay {
    pub percent: Option<f64>,
    /// "2026-11-28: 99.5%".
    pub title: String,
}

/// The class of a day's uptime: all good, some failures, many, or none.
pub fn uptime_class(percent: Option<f64>) -> &'static str {
    match percent {
        None => "up-none",
        Some(p) if p >= 99.5 => "up-good",
        Some(p) if p >= 95.0 => "up-some",
        Some(_) => "up-bad",
    }
}

/// An uptime strip: a bar a day, coloured by its uptime (and short when
/// nothing was checked), each titled, the whole labelled with `label`.
/// Drawn left to right in time whatever the page's direction.
pub fn uptime_bars(label: &str, days: &[UptimeDay]) -> String {
    const UW: f64 = 600.0;
    const UH: f64 = 36.0;
    let n = days.len().max(1) as f64;
    let band = UW / n;
    let mut out = format!(
        r#"<svg class="ch up-bars" viewBox="0 0 {UW} {UH}" width="{UW}" height="{UH}" role="img" aria-label="{}" focusable="false">"#,
        esc(label)
    );
    for (i, d) in days.iter().enumerate() {
        let (y, h) = if d.percent.is_some() {
            (0.0, UH)
        } else {
            (UH * 0.6, UH * 0.4)
        };
        let _ = write!(
            out,
            r#"<rect class="{}" x="{:.1}" y="{y:.1}" width="{:.1}" height="{h:.1}" rx="2"><title>{}</title></rect>"#,
            uptime_class(d.percent),
            band * i as f64 + 1.0,
            (band - 2.0).max(1.0),
            esc(&d.title)
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart_of(x: &[String], bars: Vec<Series>, lines: Vec<Series>, bench: Option<(f64, String)>) -> String {
        chart(&Chart {
            label: "Created & resolved <per day>",
            x,
            bars,
            lines,
            right: None,
            scale: Scale::Count,
            benchmark: bench,
            fmt: &plain,
        })
    }

    #[test]
    fn uptime_bars_are_titled_and_classed() {
        let days = vec![
            UptimeDay {
                percent: Some(100.0),
                title: "11-01: 100%".into(),
            },
            UptimeDay {
                percent: Some(50.0),
                title: "11-02 <50%>".into(),
            },
            UptimeDay {
                percent: None,
                title: "11-03: —".into(),
            },
        ];
        let svg = uptime_bars("Uptime & more", &days);
        assert_eq!(svg.matches("<rect").count(), 3, "{svg}");
        assert!(svg.contains(r#"aria-label="Uptime &amp; more""#), "{svg}");
        assert!(
            svg.contains("up-good") && svg.contains("up-bad") && svg.contains("up-none"),
            "{svg}"
        );
        assert!(svg.contains("<title>11-02 &lt;50%&gt;</title>"), "{svg}");
    }

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(axis_top(0.0, Scale::Count), 4.0);
        assert_eq!(axis_top(3.0, Scale::Count), 4.0);
        assert_eq!(axis_top(9.0, Scale::Count), 12.0);
        assert_eq!(axis_top(37.0, Scale::Count), 40.0);
        assert_eq!(axis_top(130.0, Scale::Seconds), 240.0);
        assert_eq!(axis_top(5000.0, Scale::Seconds), 7200.0);
        assert_eq!(axis_top(12.0, Scale::Percent), 100.0);
    }

    #[test]
    fn text_is_escaped_and_the_svg_is_labelled() {
        let x = vec!["<b>".to_string(), "11-02".into()];
        let svg = chart_of(
            &x,
            vec![Series {
                name: "\"Created\"".into(),
                class: "ch-created",
                values: vec![Some(2.0), Some(0.0)],
            }],
            vec![],
            Some((1.0, "E-commerce & co".into())),
        );
        assert!(svg.starts_with("<svg class=\"ch\""), "{svg}");
        assert!(
            svg.contains(r#"role="img" aria-label="Created &amp; resolved &lt;per day&gt;""#),
            "{svg}"
        );
        assert!(svg.contains("&lt;b&gt;: &quot;Created&quot; 2"), "{svg}");
        assert!(svg.contains("E-commerce &amp; co"), "{svg}");
        assert!(!svg.contains("<b>") && !svg.contains("style="), "{svg}");
        assert_eq!(svg.matches("<rect").count(), 1, "no bar for zero: {svg}");
    }

    #[test]
    fn lines_break_where_a_day_has_nothing() {
        let x: Vec<String> = (1..=5).map(|d| format!("11-0{d}")).collect();
        let svg = chart_of(
            &x,
            vec![],
            vec![Series {
                name: "median".into(),
                class: "ch-frt",
                values: vec![Some(10.0), Some(20.0), None, Some(30.0), None],
            }],
            None,
        );
        let path = svg.split("d=\"").nth(1).unwrap().split('"').next().unwrap();
        assert_eq!(path.matches('M').count(), 2, "{path}");
        assert_eq!(path.matches('L').count(), 1, "{path}");
        assert_eq!(svg.matches("<circle").count(), 3, "few points get dots: {svg}");
    }

    #[test]
    fn the_heatmap_shades_and_titles_every_cell() {
        let mut cells = [[0i64; 24]; 7];
        cells[1][10] = 8;
        cells[4][15] = 2;
        let days: Vec<String> = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
            .map(String::from)
            .to_vec();
        let svg = heatmap("Busy <hours>", &days, &cells, &|d, h, n| {
            format!("{} {h:02}:00: {n}", days[d])
        });
        assert_eq!(svg.matches("<rect").count(), 7 * 24);
        assert!(
            svg.contains(r#"class="hm5""#) && svg.contains(r#"class="hm2""#),
            "{svg}"
        );
        assert!(svg.contains("<title>Tue 10:00: 8</title>"), "{svg}");
        assert!(svg.contains("aria-label=\"Busy &lt;hours&gt;\""));
        assert_eq!((heat_level(0, 8), heat_level(1, 8), heat_level(8, 8)), (0, 1, 5));
    }
}
