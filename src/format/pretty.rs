//! The human view of `--pretty` (`cqueue`, `cinfo`, `cacct`): one table
//! builder on `tabled`, the colour of a state, and the decision of whether
//! to colour and how wide to draw, from what stdout is and the
//! environment.
//!
//! Slurm has no `--pretty`: nothing parses these bytes, so they may change
//! with taste. The default outputs stay the hand-written renderers of
//! `squeue`, `sinfo` and `sacct`, byte for byte.
//!
//! Colour follows <https://no-color.org>: only on a terminal (`auto`), never
//! when `NO_COLOR` is set to anything non-empty or `TERM` is `dumb`, unless
//! the command line says `--color=always`. Cells carry their colour as ANSI
//! escapes written by `anstyle`; tabled's `ansi` feature measures and cuts
//! them without counting the escapes, so a coloured table lines up as a
//! plain one does.

use std::io::IsTerminal;

use anstyle::{AnsiColor, Style as Ansi};
use tabled::builder::Builder;
use tabled::grid::util::string::get_text_width;
use tabled::settings::object::Columns;
use tabled::settings::peaker::PriorityMax;
use tabled::settings::{Alignment, Padding, Style, Width};

/// Moves the cursor home and clears the screen: what `cqueue -i N
/// --pretty` writes before each pass on a terminal, so the table is
/// redrawn in place instead of scrolling.
pub const CLEAR_SCREEN: &str = "\x1b[H\x1b[2J";

/// What a cell cut to fit the width ends in.
const ELLIPSIS: &str = "…";

/// `--color`: when to colour the states.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set or TERM is dumb
    #[default]
    Auto,
    /// Always, even on a pipe or with NO_COLOR
    Always,
    /// Never
    Never,
}

/// What stdout is: whether it is a terminal and, if so, how many columns
/// it has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Terminal {
    pub is_tty: bool,
    /// The terminal's width (`TIOCGWINSZ`); `None` on a pipe, or where
    /// the terminal does not say.
    pub columns: Option<usize>,
}

impl Terminal {
    /// This process's stdout.
    pub fn stdout() -> Terminal {
        let stdout = std::io::stdout();
        if !stdout.is_terminal() {
            return Terminal::default();
        }
        let columns = rustix::termios::tcgetwinsize(&stdout)
            .ok()
            .map(|size| usize::from(size.ws_col))
            .filter(|&columns| columns > 0);
        Terminal {
            is_tty: true,
            columns,
        }
    }
}

/// How one `--pretty` run draws: whether in colour, how wide at most,
/// and whether on a terminal (where `-i` redraws in place).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct View {
    pub color: bool,
    /// The most columns a line may take; `None`: as wide as the values.
    pub width: Option<usize>,
    pub terminal: bool,
}

impl View {
    /// The view for this process's stdout and environment.
    pub fn detect(choice: ColorChoice) -> View {
        View::decide(choice, Terminal::stdout(), &|name| std::env::var(name).ok())
    }

    /// This view with its width read again from `COLUMNS` and stdout,
    /// for a terminal resized since (between the passes of `cqueue -i`).
    pub fn resized(self) -> View {
        let now = View::detect(ColorChoice::Never);
        View {
            width: now.width,
            ..self
        }
    }

    /// The view for a choice, a stdout and an environment (`env` reads a
    /// variable). A positive `COLUMNS` sets the width, on a terminal or
    /// not (as Python's `shutil.get_terminal_size` reads it: the user's
    /// word over the terminal's); else a terminal's own width; else a
    /// pipe gets lines as long as their values.
    pub fn decide(
        choice: ColorChoice,
        terminal: Terminal,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> View {
        let set = |name: &str| env(name).filter(|value| !value.is_empty());
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                terminal.is_tty
                    && set("NO_COLOR").is_none()
                    && set("TERM").is_none_or(|term| term != "dumb")
            }
        };
        let columns = set("COLUMNS")
            .and_then(|text| text.trim().parse::<usize>().ok())
            .filter(|&columns| columns > 0);
        View {
            color,
            width: columns.or(terminal.columns),
            terminal: terminal.is_tty,
        }
    }
}

/// One column of a pretty table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub header: &'static str,
    /// Numbers and times read better right-aligned.
    pub right: bool,
    /// The column holds a state, coloured by [`state_style`].
    pub state: bool,
    /// Free text (names, reasons) that may be cut to fit the width;
    /// the other columns (ids, states, numbers) are cut only when these
    /// are down to [`SHRINK_FLOOR`] and the line is still too wide.
    pub shrinks: bool,
    /// Left out when the line cannot fit otherwise, the lowest rank
    /// first; `None`: always shown.
    pub hides: Option<u8>,
}

/// The narrowest a shrinking column is cut to, its ellipsis included.
pub const SHRINK_FLOOR: usize = 8;

impl Column {
    /// A left-aligned column.
    pub const fn left(header: &'static str) -> Column {
        Column {
            header,
            right: false,
            state: false,
            shrinks: false,
            hides: None,
        }
    }

    /// A right-aligned column.
    pub const fn right(header: &'static str) -> Column {
        Column {
            header,
            right: true,
            state: false,
            shrinks: false,
            hides: None,
        }
    }

    /// The state column.
    pub const fn state(header: &'static str) -> Column {
        Column {
            header,
            right: false,
            state: true,
            shrinks: false,
            hides: None,
        }
    }

    /// This column, cut first when the table is too wide.
    pub const fn shrinks(self) -> Column {
        Column {
            shrinks: true,
            ..self
        }
    }

    /// This column, left out (lowest `rank` first) when cutting the
    /// shrinking columns does not make the line fit.
    pub const fn hides(self, rank: u8) -> Column {
        Column {
            hides: Some(rank),
            ..self
        }
    }
}

/// The colour of a job or node state, by its first word in any case
/// (`CANCELLED by 1000` is cancelled): running green, pending yellow,
/// failed, timed out, out of memory and node failures red, cancelled
/// grey; a node idle green, in use yellow, down or drained red. Completed
/// and anything else are left as the terminal draws text.
pub fn state_style(state: &str) -> Option<Ansi> {
    let word = state
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .trim_end_matches(['*', '~', '#', '$', '@', '+', '-', '^', '!', '%'])
        .to_ascii_uppercase();
    let color = match word.as_str() {
        "RUNNING" | "R" | "IDLE" => AnsiColor::Green,
        "PENDING" | "PD" | "REQUEUED" | "SUSPENDED" | "MIX" | "MIXED" | "ALLOC" | "ALLOCATED"
        | "COMPLETING" | "CG" => AnsiColor::Yellow,
        "FAILED" | "F" | "TIMEOUT" | "TO" | "OUT_OF_MEMORY" | "OOM" | "NODE_FAIL" | "NF"
        | "BOOT_FAIL" | "BF" | "DEADLINE" | "DL" | "DOWN" | "DRAIN" | "DRAINED" | "DRAINING"
        | "DRNG" | "FAIL" => AnsiColor::Red,
        "CANCELLED" | "CA" => AnsiColor::BrightBlack,
        _ => return None,
    };
    Some(color.on_default())
}

/// `text` wrapped in `style`'s escapes.
fn paint(style: Ansi, text: &str) -> String {
    format!("{}{text}{}", style.render(), style.render_reset())
}

/// The columns between two cells.
const GAP: usize = 2;

/// The table: a header line (unless `header` is false) and one line per
/// row, columns two spaces apart, no borders, no trailing blanks.
///
/// With a width, a line too long is fitted in steps, each only if the one
/// before does not suffice: the shrinking columns are cut, the widest
/// first, down to [`SHRINK_FLOOR`]; the hiding columns are left out, the
/// lowest rank first (and the cuts made again for what remains); last,
/// every column is cut, the widest first. A cut cell ends in `…`; nothing
/// wraps. In colour the header is bold and the state column coloured.
/// Every line ends in a newline; no rows and no header is "".
pub fn table(columns: &[Column], rows: &[Vec<String>], header: bool, view: View) -> String {
    if rows.is_empty() && !header {
        return String::new();
    }
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| row.iter().map(|cell| printable(cell)).collect())
        .collect();
    let natural: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(index, column)| {
            let cells = rows.iter().filter_map(|row| row.get(index));
            cells
                .map(|cell| get_text_width(cell))
                .chain(header.then(|| get_text_width(column.header)))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let fit = fit(columns, &natural, view.width);
    let mut builder = Builder::with_capacity(rows.len() + 1, fit.shown.len());
    if header {
        let bold = Ansi::new().bold();
        builder.push_record(fit.shown.iter().map(|&index| {
            let header = columns[index].header;
            if view.color {
                paint(bold, header)
            } else {
                header.to_string()
            }
        }));
    }
    for row in rows {
        builder.push_record(fit.shown.iter().map(|&index| {
            let text = row.get(index).map_or("", String::as_str);
            let style = columns[index].state.then(|| state_style(text)).flatten();
            match style {
                Some(style) if view.color => paint(style, text),
                _ => text.to_string(),
            }
        }));
    }
    let mut table = builder.build();
    table
        .with(Style::empty())
        .with(Padding::new(0, GAP, 0, 0))
        .modify(Columns::last(), Padding::zero());
    for (position, &index) in fit.shown.iter().enumerate() {
        if columns[index].right {
            table.modify(Columns::one(position), Alignment::right());
        }
        if fit.widths[position] < natural[index] {
            table.modify(
                Columns::one(position),
                Width::truncate(fit.widths[position]).suffix(ELLIPSIS),
            );
        }
    }
    if let (Some(limit), false) = (view.width, fit.fits) {
        table.with(
            Width::truncate(limit)
                .priority(PriorityMax::right())
                .suffix(ELLIPSIS),
        );
    }
    let mut out = String::new();
    for line in table.to_string().lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The text with each control character (a newline, a tab, an escape)
/// shown as `?`: a job's name is its owner's to choose, and must neither
/// break a line of the table nor reach another user's terminal as an
/// escape sequence.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Which columns a table shows and how wide, for a width.
#[derive(Debug, PartialEq, Eq)]
struct Fit {
    /// The indices of the columns shown, in order.
    shown: Vec<usize>,
    /// The width of each column shown.
    widths: Vec<usize>,
    /// Whether the line fits without cutting the other columns.
    fits: bool,
}

/// The first two steps of [`table`]'s fitting: cuts, then hidden
/// columns, until a line fits `limit` or nothing more may go.
fn fit(columns: &[Column], natural: &[usize], limit: Option<usize>) -> Fit {
    let mut shown: Vec<usize> = (0..columns.len()).collect();
    let Some(limit) = limit else {
        return Fit {
            shown,
            widths: natural.to_vec(),
            fits: true,
        };
    };
    loop {
        let (widths, fits) = cut(columns, natural, &shown, limit);
        let next = shown
            .iter()
            .enumerate()
            .filter_map(|(position, &index)| columns[index].hides.map(|rank| (rank, position)))
            .min();
        match next {
            Some((_, position)) if !fits => {
                shown.remove(position);
            }
            _ => {
                return Fit {
                    shown,
                    widths,
                    fits,
                };
            }
        }
    }
}

/// The widths of the `shown` columns for a line of at most `limit`
/// columns: the shrinking ones cut, the widest first (the rightmost of
/// equals), none narrower than [`SHRINK_FLOOR`] (or its natural width,
/// if less); and whether that fits.
fn cut(columns: &[Column], natural: &[usize], shown: &[usize], limit: usize) -> (Vec<usize>, bool) {
    let mut widths: Vec<usize> = shown.iter().map(|&index| natural[index]).collect();
    let total = widths.iter().sum::<usize>() + GAP * widths.len().saturating_sub(1);
    let mut excess = total.saturating_sub(limit);
    while excess > 0 {
        let widest = shown
            .iter()
            .zip(&widths)
            .enumerate()
            .filter(|(_, (index, width))| columns[**index].shrinks && **width > SHRINK_FLOOR)
            .max_by_key(|(position, (_, width))| (**width, *position))
            .map(|(position, _)| position);
        let Some(position) = widest else {
            break;
        };
        widths[position] -= 1;
        excess -= 1;
    }
    (widths, excess == 0)
}

/// A size in MiB for a person: `512M`, `1.5G`, `64G`, `2T`, one decimal
/// where it is not whole; `0` for none.
pub fn human_mb(mb: u64) -> String {
    const UNITS: [(u64, char); 3] = [(1024 * 1024 * 1024, 'P'), (1024 * 1024, 'T'), (1024, 'G')];
    for (size, unit) in UNITS {
        if mb >= size {
            let tenths = (mb * 10 + size / 2) / size;
            return if tenths.is_multiple_of(10) {
                format!("{}{unit}", tenths / 10)
            } else {
                format!("{}.{}{unit}", tenths / 10, tenths % 10)
            };
        }
    }
    if mb == 0 {
        return "0".into();
    }
    format!("{mb}M")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ESC: char = '\x1b';

    fn columns() -> Vec<Column> {
        vec![
            Column::right("JOBID"),
            Column::left("NAME").shrinks(),
            Column::state("STATE"),
        ]
    }

    fn rows() -> Vec<Vec<String>> {
        [
            ["7", "train-a-very-long-model-name", "RUNNING"],
            ["12", "eval", "PENDING"],
            ["3", "done", "COMPLETED"],
        ]
        .iter()
        .map(|row| row.iter().map(ToString::to_string).collect())
        .collect()
    }

    fn plain() -> View {
        View::default()
    }

    /// Each line of the text without its ANSI escapes, as a terminal shows it.
    fn shown(text: &str) -> Vec<String> {
        let mut lines = Vec::new();
        for line in text.lines() {
            let mut out = String::new();
            let mut chars = line.chars();
            while let Some(c) = chars.next() {
                if c == ESC {
                    for c in chars.by_ref() {
                        if c.is_ascii_alphabetic() {
                            break;
                        }
                    }
                } else {
                    out.push(c);
                }
            }
            lines.push(out);
        }
        lines
    }

    fn width(line: &str) -> usize {
        line.chars().count()
    }

    #[test]
    fn a_plain_table_aligns_its_columns_without_escapes() {
        let text = table(&columns(), &rows(), true, plain());
        assert_eq!(
            text,
            "JOBID  NAME                          STATE\n\
             \x20   7  train-a-very-long-model-name  RUNNING\n\
             \x20  12  eval                          PENDING\n\
             \x20   3  done                          COMPLETED\n"
        );
        assert!(!text.contains(ESC));
        assert_eq!(
            table(&columns(), &rows()[..1], false, plain()),
            "7  train-a-very-long-model-name  RUNNING\n"
        );
        assert_eq!(table(&columns(), &[], false, plain()), "");
        assert_eq!(
            table(&columns(), &[], true, plain()),
            "JOBID  NAME  STATE\n"
        );
    }

    #[test]
    fn a_width_cuts_the_widest_column_with_an_ellipsis() {
        let view = View {
            width: Some(30),
            ..plain()
        };
        let text = table(&columns(), &rows(), true, view);
        for line in text.lines() {
            assert!(width(line) <= 30, "{line:?} fits 30");
        }
        assert!(text.contains("  train-a-ver…  "), "{text}");
        // The short columns keep their values whole; nothing wraps.
        assert_eq!(text.lines().count(), 4);
        assert!(text.contains("COMPLETED"), "{text}");
        assert!(text.lines().nth(1).is_some_and(|l| l.ends_with("RUNNING")));
        // Too narrow for the shrinking column alone: every column gives.
        let tight = table(
            &columns(),
            &rows(),
            true,
            View {
                width: Some(20),
                ..plain()
            },
        );
        for line in tight.lines() {
            assert!(width(line) <= 20, "{line:?} fits 20");
        }
        assert!(tight.contains('…'), "{tight}");
        // A width to spare changes nothing.
        let wide = View {
            width: Some(200),
            ..plain()
        };
        assert_eq!(
            table(&columns(), &rows(), true, wide),
            table(&columns(), &rows(), true, plain())
        );
    }

    #[test]
    fn columns_that_may_hide_go_before_the_rest_is_cut() {
        let columns = [
            Column::right("JOBID"),
            Column::left("NAME").shrinks(),
            Column::right("CPUS").hides(2),
            Column::right("MEMORY").hides(1),
            Column::state("STATE"),
        ];
        let rows = vec![
            ["7", "a-long-job-name", "4", "16G", "RUNNING"]
                .map(String::from)
                .to_vec(),
        ];
        let at = |width| {
            table(
                &columns,
                &rows,
                true,
                View {
                    width: Some(width),
                    ..plain()
                },
            )
        };
        // 5 + 15 + 4 + 6 + 7 and four gaps of two: 45 fits whole.
        assert_eq!(at(45), table(&columns, &rows, true, plain()));
        // A cut name suffices while it keeps SHRINK_FLOOR columns.
        assert_eq!(
            at(40),
            "JOBID  NAME        CPUS  MEMORY  STATE\n\
             \x20   7  a-long-jo…     4     16G  RUNNING\n"
        );
        // Then MEMORY goes first (37 whole), and the name is cut again only
        // as it must be.
        assert_eq!(
            at(37),
            "JOBID  NAME             CPUS  STATE\n\
             \x20   7  a-long-job-name     4  RUNNING\n"
        );
        assert_eq!(
            at(36),
            "JOBID  NAME            CPUS  STATE\n\
             \x20   7  a-long-job-na…     4  RUNNING\n"
        );
        assert_eq!(
            at(29),
            "JOBID  NAME           STATE\n\
             \x20   7  a-long-job-n…  RUNNING\n"
        );
        for line in at(20).lines() {
            assert!(width(line) <= 20, "{line:?} fits 20");
        }
    }

    #[test]
    fn colour_wraps_the_states_and_is_not_counted_in_widths() {
        let view = View {
            color: true,
            ..plain()
        };
        let text = table(&columns(), &rows(), true, view);
        assert!(text.contains("\x1b[32mRUNNING\x1b[0m"), "{text:?}");
        assert!(text.contains("\x1b[33mPENDING\x1b[0m"), "{text:?}");
        assert!(text.contains("\x1b[1mJOBID\x1b[0m"), "{text:?}");
        // Completed is left as text is drawn.
        assert!(text.contains("  COMPLETED\n"), "{text:?}");
        // What the terminal shows is the plain table.
        assert_eq!(
            shown(&text),
            shown(&table(&columns(), &rows(), true, plain()))
        );
        let narrow = View {
            color: true,
            width: Some(30),
            terminal: true,
        };
        let cut = table(&columns(), &rows(), true, narrow);
        for line in shown(&cut) {
            assert!(width(&line) <= 30, "{line:?} fits 30");
        }
        assert_eq!(
            shown(&cut),
            shown(&table(
                &columns(),
                &rows(),
                true,
                View {
                    width: Some(30),
                    ..plain()
                }
            ))
        );
    }

    #[test]
    fn control_characters_in_values_cannot_break_lines_or_reach_the_terminal() {
        let rows = vec![
            ["1", "two\nlines\tand \x1b[31mred", "RUNNING"]
                .map(String::from)
                .to_vec(),
        ];
        let text = table(&columns(), &rows, false, plain());
        assert_eq!(text, "1  two?lines?and ?[31mred  RUNNING\n");
    }

    #[test]
    fn states_take_their_colours_by_first_word() {
        let fg = |state: &str| state_style(state).and_then(Ansi::get_fg_color);
        let ansi = |color: AnsiColor| Some(anstyle::Color::Ansi(color));
        assert_eq!(fg("RUNNING"), ansi(AnsiColor::Green));
        assert_eq!(fg("running"), ansi(AnsiColor::Green));
        assert_eq!(fg("PENDING"), ansi(AnsiColor::Yellow));
        for red in ["FAILED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "down*"] {
            assert_eq!(fg(red), ansi(AnsiColor::Red), "{red}");
        }
        assert_eq!(fg("CANCELLED by 1000"), ansi(AnsiColor::BrightBlack));
        assert_eq!(fg("idle"), ansi(AnsiColor::Green));
        assert_eq!(fg("mixed"), ansi(AnsiColor::Yellow));
        assert_eq!(fg("COMPLETED"), None);
        assert_eq!(fg(""), None);
    }

    #[test]
    fn colour_needs_a_terminal_and_no_no_color() {
        let tty = Terminal {
            is_tty: true,
            columns: Some(120),
        };
        let pipe = Terminal::default();
        let none = |_: &str| None;
        let no_color = |name: &str| (name == "NO_COLOR").then(|| "1".to_string());
        let empty_no_color = |name: &str| (name == "NO_COLOR").then(String::new);
        let dumb = |name: &str| (name == "TERM").then(|| "dumb".to_string());
        let auto = ColorChoice::Auto;
        assert!(View::decide(auto, tty, &none).color);
        assert!(!View::decide(auto, pipe, &none).color);
        assert!(!View::decide(auto, tty, &no_color).color);
        assert!(View::decide(auto, tty, &empty_no_color).color);
        assert!(!View::decide(auto, tty, &dumb).color);
        assert!(!View::decide(ColorChoice::Never, tty, &none).color);
        // The command line's word is the user's: it beats NO_COLOR.
        assert!(View::decide(ColorChoice::Always, pipe, &no_color).color);
        assert!(View::decide(auto, tty, &none).terminal);
        assert!(!View::decide(auto, pipe, &none).terminal);
    }

    #[test]
    fn widths_come_from_columns_then_the_terminal() {
        let tty = Terminal {
            is_tty: true,
            columns: Some(120),
        };
        let none = |_: &str| None;
        let columns =
            |value: &'static str| move |name: &str| (name == "COLUMNS").then(|| value.to_string());
        let auto = ColorChoice::Auto;
        assert_eq!(View::decide(auto, tty, &none).width, Some(120));
        assert_eq!(View::decide(auto, tty, &columns("60")).width, Some(60));
        assert_eq!(View::decide(auto, Terminal::default(), &none).width, None);
        assert_eq!(
            View::decide(auto, Terminal::default(), &columns("60")).width,
            Some(60)
        );
        for bad in ["0", "x", ""] {
            assert_eq!(
                View::decide(auto, Terminal::default(), &columns(bad)).width,
                None,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn sizes_read_for_a_person() {
        assert_eq!(human_mb(0), "0");
        assert_eq!(human_mb(512), "512M");
        assert_eq!(human_mb(1024), "1G");
        assert_eq!(human_mb(1536), "1.5G");
        assert_eq!(human_mb(64000), "62.5G");
        assert_eq!(human_mb(2 * 1024 * 1024), "2T");
    }
}
