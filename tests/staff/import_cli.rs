//! `kktbot import FILE`: the preview summary and each row that changes or fails, nothing written
//! with `--dry-run` nor without a confirmation, the import with `--yes` (audited as the command
//! line), and nothing to change the second time.

use kktbot::entities::audit_log;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::import::ofd_export;
use crate::cli::{kktbot, text};
use crate::support::{Backend, TestDatabase, backend_test, count_rows};

backend_test!(the_command_line_previews_asks_and_imports_once);
async fn the_command_line_previews_asks_and_imports_once(backend: Backend) {
    let (test_db, db) = TestDatabase::migrated(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ofd-export.xlsx");
    std::fs::write(&path, ofd_export()).unwrap();
    let file = path.to_str().unwrap();
    let vars = [("DATABASE_URL", test_db.url())];
    let summary = "7 row(s): 3 new, 0 update, 1 unchanged, 3 error; 9 write(s)";

    let dry = kktbot(&["import", file, "--dry-run"], &vars, None);
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    let out = text(&dry.stdout);
    assert!(out.contains(summary), "{out}");
    assert!(out.contains("columns ignored: Примечание"), "{out}");
    assert!(out.contains("error      ИНН пользователя: 7707083894 is not a valid ИНН"), "{out}");
    assert!(out.contains("new        client 7736207543 new, cash register 00307200000002 new"), "{out}");
    assert!(out.contains("dry run: nothing written"), "{out}");
    assert_eq!(count_rows(&db, "clients").await, 0);

    // Not on a terminal and without --yes: refused, nothing written.
    let unconfirmed = kktbot(&["import", file], &vars, None);
    assert_eq!(unconfirmed.status.code(), Some(1));
    assert!(text(&unconfirmed.stderr).contains("not confirmed: nothing written"), "{}", text(&unconfirmed.stderr));
    assert_eq!(count_rows(&db, "clients").await, 0);

    let done = kktbot(&["import", file, "--yes"], &vars, None);
    assert!(done.status.success(), "{}", text(&done.stderr));
    let out = text(&done.stdout);
    assert!(
        out.contains(
            "imported: clients 2 created, 0 updated; cash registers 3 created, 0 updated; contacts 1 created, 0 updated; \
             deadlines 3 created, 0 updated"
        ),
        "{out}"
    );
    assert!(out.contains("left out: 3 row(s) with errors"), "{out}");
    assert_eq!(count_rows(&db, "clients").await, 2);
    assert_eq!(count_rows(&db, "cash_registers").await, 3);

    let again = kktbot(&["import", file, "--yes"], &vars, None);
    assert!(again.status.success(), "{}", text(&again.stderr));
    let out = text(&again.stdout);
    assert!(out.contains("7 row(s): 0 new, 0 update, 4 unchanged, 3 error; 0 write(s)"), "{out}");
    assert!(out.contains("nothing to change"), "{out}");

    let records = audit_log::Entity::find().filter(audit_log::Column::Action.eq("import")).all(&db).await.unwrap();
    assert_eq!(records.len(), 1, "one import, recorded once");
    assert_eq!((records[0].actor_kind.as_str(), records[0].source.as_str()), ("cli", "cli"));

    let missing = kktbot(&["import", "/nonexistent/file.xlsx", "--yes"], &vars, None);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).starts_with("kktbot: cannot read /nonexistent/file.xlsx"));
    let _ = db.close().await;
}
