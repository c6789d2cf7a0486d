//! `kktbot import FILE`: the preview of an XLSX or CSV import, then, once confirmed (`--yes`,
//! or `y` at the prompt), the import itself with a progress bar.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::Config;
use crate::services::audit::Actor;
use crate::services::import::{self, Action, Applied, Outcome, Preview, RowOutcome};

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The XLSX, XLS or CSV file (UTF-8 or Windows-1251, `;` or `,`), a header row first.
    file: PathBuf,
    /// Import without asking.
    #[arg(long, conflicts_with = "dry_run")]
    yes: bool,
    /// Show the preview only; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// List the unchanged rows too.
    #[arg(long)]
    all_rows: bool,
}

pub async fn run(args: ImportArgs, config: &Config) -> Result<(), String> {
    let bytes = std::fs::read(&args.file).map_err(|e| format!("cannot read {}: {e}", args.file.display()))?;
    let db = crate::db::connect(&config.database_url).await.map_err(|e| format!("database: {e}"))?;
    let preview = import::preview(&db, &bytes).await.map_err(super::describe)?;
    print_preview(&preview, args.all_rows);
    if args.dry_run {
        println!("dry run: nothing written");
        return Ok(());
    }
    if preview.writes == 0 {
        println!("nothing to change");
        return Ok(());
    }
    if !args.yes && !confirmed(&preview)? {
        return Err("not confirmed: nothing written (--yes imports without asking, --dry-run only previews)".into());
    }
    let bar = ProgressBar::new(preview.writes as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} rows written")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut tick = || bar.inc(1);
    let applied = import::apply(&db, &Actor::cli(), &bytes, &preview.digest, &mut tick).await;
    bar.finish_and_clear();
    print_applied(&applied.map_err(super::describe)?);
    Ok(())
}

/// Asks on a terminal; elsewhere (a script, a pipe) nothing is imported without `--yes`.
fn confirmed(preview: &Preview) -> Result<bool, String> {
    if !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    let skipped = preview.summary.error;
    print!(
        "import {} row(s){}? [y/N] ",
        preview.summary.rows - skipped,
        if skipped > 0 { format!(", leaving out the {skipped} with errors") } else { String::new() }
    );
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).map_err(|e| e.to_string())?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "да" | "д"))
}

fn outcome(o: Outcome) -> &'static str {
    match o {
        Outcome::New => "new",
        Outcome::Update => "update",
        Outcome::Unchanged => "unchanged",
        Outcome::Error => "error",
    }
}

fn describe_row(row: &RowOutcome) -> String {
    if row.outcome == Outcome::Error {
        let errors: Vec<String> = row.errors.iter().map(|e| format!("{}: {}", e.column, e.message)).collect();
        return errors.join("; ");
    }
    let changes: Vec<String> = row
        .changes
        .iter()
        .map(|c| {
            let what = match c.action {
                Action::New => "new".to_string(),
                Action::Update => format!("update ({})", c.fields.join(", ")),
                Action::Unchanged => "unchanged".to_string(),
            };
            format!("{} {} {what}", c.entity.replace('_', " "), c.key)
        })
        .collect();
    changes.join(", ")
}

fn print_preview(preview: &Preview, all_rows: bool) {
    let f = &preview.format;
    let mut read = f.kind.to_string();
    if let (Some(encoding), Some(delimiter)) = (f.encoding, &f.delimiter) {
        read.push_str(&format!(", {encoding}, separated by {delimiter}"));
    }
    println!("read as {read}");
    let ignored: Vec<&str> = preview.columns.iter().filter(|c| c.field.is_none()).map(|c| c.header.as_str()).collect();
    if !ignored.is_empty() {
        println!("columns ignored: {}", ignored.join(", "));
    }
    for row in &preview.rows {
        if all_rows || row.outcome != Outcome::Unchanged {
            println!("row {:>5}  {:<9}  {}", row.row, outcome(row.outcome), describe_row(row));
        }
    }
    let s = &preview.summary;
    println!(
        "{} row(s): {} new, {} update, {} unchanged, {} error; {} write(s)",
        s.rows, s.new, s.update, s.unchanged, s.error, preview.writes
    );
}

fn print_applied(applied: &Applied) {
    let w = &applied.written;
    println!(
        "imported: clients {} created, {} updated; cash registers {} created, {} updated; contacts {} created, {} updated; \
         deadlines {} created, {} updated",
        w.clients.created,
        w.clients.updated,
        w.cash_registers.created,
        w.cash_registers.updated,
        w.contacts.created,
        w.contacts.updated,
        w.deadlines.created,
        w.deadlines.updated
    );
    if applied.summary.error > 0 {
        println!("left out: {} row(s) with errors", applied.summary.error);
    }
}
