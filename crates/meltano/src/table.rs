//! Tables drawn the way Meltano's (rich) tables look: no borders, a rule under the header.

/// How a column's cells sit in their width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Center,
}

/// A table of text cells.
pub struct Table {
    headers: Vec<(&'static str, Align)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub fn new(headers: Vec<(&'static str, Align)>) -> Table {
        Table {
            headers,
            rows: Vec::new(),
        }
    }

    /// Adds a row; it must have one cell per column.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as lines: a blank line, the header, a rule, the rows, a blank line.
    pub fn render(&self) -> String {
        let widths: Vec<usize> = self
            .headers
            .iter()
            .enumerate()
            .map(|(i, (h, _))| {
                self.rows
                    .iter()
                    .map(|r| r[i].chars().count())
                    .chain([h.chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: Vec<&str>| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .zip(&self.headers)
                .map(|((cell, width), (_, align))| pad(cell, *width, *align))
                .collect();
            format!(" {} ", padded.join("   "))
        };
        let total = widths.iter().sum::<usize>() + 3 * (widths.len().saturating_sub(1)) + 2;
        let mut out = Vec::with_capacity(self.rows.len() + 4);
        out.push(" ".repeat(total));
        out.push(line(self.headers.iter().map(|(h, _)| *h).collect()));
        out.push(format!(" {} ", "─".repeat(total - 2)));
        for row in &self.rows {
            out.push(line(row.iter().map(String::as_str).collect()));
        }
        out.push(" ".repeat(total));
        out.join("\n")
    }
}

fn pad(cell: &str, width: usize, align: Align) -> String {
    let len = cell.chars().count();
    let room = width.saturating_sub(len);
    match align {
        Align::Left => format!("{cell}{}", " ".repeat(room)),
        Align::Center => format!(
            "{}{cell}{}",
            " ".repeat(room / 2),
            " ".repeat(room - room / 2)
        ),
    }
}
