//! The `rounds` binary's operations commands, run as an operator would run them: each test gets
//! a data directory of its own under the temporary folder and checks exact output and exit codes.
//! `ROUNDS_TEST_POSTGRES_URL` (an admin URL such as postgres://postgres@127.0.0.1:5432/postgres)
//! adds a run of the commands against a fresh PostgreSQL database.

use platform::{Config, Db, Role};
use sqlx::Row;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A data directory (and working directory) of its own, removed afterwards.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("rounds-cli-{}-{n}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Dir(path)
    }

    fn data(&self) -> PathBuf {
        self.0.join("data")
    }

    fn db_file(&self) -> PathBuf {
        self.data().join("rounds.db")
    }

    fn sqlite_url(&self) -> String {
        format!("sqlite://{}", self.db_file().display())
    }

    /// `rounds ARGS --data-dir DIR/data` in DIR.
    fn rounds(&self, args: &[&str]) -> Run {
        self.rounds_with(args, None, &[])
    }

    fn rounds_with(&self, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Run {
        let data = self.data();
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--data-dir", data.to_str().unwrap()]);
        run(&self.0, &all, stdin, env)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the binary in `cwd` with no `ROUNDS_*` variables but those given.
fn run(cwd: &Path, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rounds"));
    command
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, _) in std::env::vars() {
        if name.starts_with("ROUNDS_") {
            command.env_remove(name);
        }
    }
    command.envs(env.iter().copied());
    let mut child = command.spawn().expect("the rounds binary runs");
    {
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
    }
    let output = child.wait_with_output().unwrap();
    Run {
        code: output
            .status
            .code()
            .expect("exited, not killed by a signal"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

fn block_on<T>(body: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(body)
}

/// Runs one SQL statement on a database, as someone editing the file by hand would.
fn sql(url: &str, statement: &'static str) {
    block_on(async {
        let db = Db::connect(url).await.unwrap();
        sqlx::query(statement).execute(&db.pool).await.unwrap();
        db.close().await;
    })
}

fn usernames(url: &str) -> Vec<String> {
    block_on(async {
        let db = Db::connect(url).await.unwrap();
        let names = platform::users::list(&db)
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.username)
            .collect();
        db.close().await;
        names
    })
}

#[test]
fn users_are_added_listed_given_roles_disabled_and_enabled() {
    let dir = Dir::new("users");
    let add = dir.rounds(&[
        "user",
        "add",
        "dr.okafor",
        "--role",
        "cmo",
        "--role",
        "quality",
        "--display-name",
        "Dr Ama Okafor",
    ]);
    assert_eq!(add.code, 0, "{add:?}");
    let lines: Vec<&str> = add.stdout.lines().collect();
    assert_eq!(lines[0], "created user 'dr.okafor' with roles cmo,quality");
    let password = lines[1]
        .strip_prefix("password: ")
        .expect("the generated password is printed");
    assert_eq!(password.len(), 20);
    assert_eq!(lines.len(), 2);
    assert!(
        add.stderr.contains("shown only this once"),
        "{}",
        add.stderr
    );

    // The printed password is the one stored: it signs in.
    block_on(async {
        let db = Db::connect(&dir.sqlite_url()).await.unwrap();
        assert!(
            platform::auth::sign_in(&db, &Config::default(), "dr.okafor", password, "127.0.0.1")
                .await
                .is_ok()
        );
        db.close().await;
    });

    let add = dir.rounds_with(
        &[
            "user",
            "add",
            "m.chen",
            "--role",
            "auditor",
            "--password-stdin",
        ],
        Some("correct horse battery\n"),
        &[],
    );
    assert_eq!(
        (add.code, add.stdout.as_str()),
        (0, "created user 'm.chen' with roles auditor\n"),
        "{add:?}"
    );

    let list = dir.rounds(&["user", "list"]);
    assert_eq!(list.code, 0);
    assert_eq!(
        list.stdout,
        "NAME       DISPLAY NAME   ROLES        DISABLED\n\
         dr.okafor  Dr Ama Okafor  cmo,quality  no\n\
         m.chen                    auditor      no\n"
    );

    let set = dir.rounds(&[
        "user",
        "set-roles",
        "m.chen",
        "--role",
        "compliance",
        "--role",
        "auditor",
    ]);
    assert_eq!(
        (set.code, set.stdout.as_str()),
        (0, "user 'm.chen' now has roles auditor,compliance\n"),
        "{set:?}"
    );
    let disable = dir.rounds(&["user", "disable", "m.chen"]);
    assert_eq!(disable.code, 0, "{disable:?}");
    assert_eq!(
        disable.stdout,
        "user 'm.chen' disabled; their sessions have ended and their API tokens are revoked\n"
    );
    let list = dir.rounds(&["user", "list"]);
    assert_eq!(
        list.stdout,
        "NAME       DISPLAY NAME   ROLES               DISABLED\n\
         dr.okafor  Dr Ama Okafor  cmo,quality         no\n\
         m.chen                    auditor,compliance  yes\n"
    );
    assert_eq!(
        dir.rounds(&["user", "enable", "m.chen"]).stdout,
        "user 'm.chen' enabled\n"
    );
    assert!(
        dir.rounds(&["user", "list"])
            .stdout
            .ends_with("auditor,compliance  no\n")
    );

    let again = dir.rounds(&["user", "add", "dr.okafor", "--role", "cmo"]);
    assert_eq!(
        (again.code, again.stderr.as_str()),
        (1, "error: a user named 'dr.okafor' already exists\n")
    );
    let nobody = dir.rounds(&["user", "disable", "nobody"]);
    assert_eq!(
        (nobody.code, nobody.stderr.as_str()),
        (1, "error: user 'nobody' not found\n")
    );
    let nurse = dir.rounds(&["user", "add", "n.ward", "--role", "nurse"]);
    assert_eq!(nurse.code, 2, "a usage error");
    assert!(
        nurse.stderr.contains("invalid value 'nurse' for '--role <ROLE>': role: 'nurse' is not a role; the roles are admin, cmo,"),
        "{}",
        nurse.stderr
    );
    let none = dir.rounds(&["user", "add", "n.ward"]);
    assert_eq!(none.code, 2);
    assert!(none.stderr.contains("--role <ROLE>"), "{}", none.stderr);
}

#[test]
fn a_password_outside_the_policy_is_refused_and_nothing_is_created() {
    let dir = Dir::new("policy");
    let short = dir.rounds_with(
        &[
            "user",
            "add",
            "dr.okafor",
            "--role",
            "cmo",
            "--password-stdin",
        ],
        Some("too short\n"),
        &[],
    );
    assert_eq!((short.code, short.stdout.as_str()), (1, ""));
    assert_eq!(
        short.stderr,
        "error: password: must be at least 12 characters\n"
    );
    let own_name = dir.rounds_with(
        &[
            "user",
            "add",
            "dr.okafor",
            "--role",
            "cmo",
            "--password-stdin",
        ],
        Some("xxDR.OKAFORxx99\n"),
        &[],
    );
    assert_eq!(
        (own_name.code, own_name.stderr.as_str()),
        (1, "error: password: must not contain the user name\n")
    );
    let empty = dir.rounds_with(
        &[
            "user",
            "add",
            "dr.okafor",
            "--role",
            "cmo",
            "--password-stdin",
        ],
        Some(""),
        &[],
    );
    assert_eq!(empty.code, 1);
    assert_eq!(
        empty.stderr,
        "error: --password-stdin: standard input held no password (give it on one line)\n"
    );
    assert_eq!(
        dir.rounds(&["user", "list"]).stdout,
        "NAME  DISPLAY NAME  ROLES  DISABLED\n"
    );

    let add = dir.rounds_with(
        &[
            "user",
            "add",
            "dr.okafor",
            "--role",
            "cmo",
            "--password-stdin",
        ],
        Some("correct horse battery\r\n"),
        &[],
    );
    assert_eq!(add.code, 0);
    let reset = dir.rounds_with(
        &["user", "reset-password", "dr.okafor", "--password-stdin"],
        Some("short\n"),
        &[],
    );
    assert_eq!(
        (reset.code, reset.stderr.as_str()),
        (1, "error: password: must be at least 12 characters\n")
    );
    let reset = dir.rounds_with(
        &["user", "reset-password", "dr.okafor", "--password-stdin"],
        Some("staple battery horse\n"),
        &[],
    );
    assert_eq!(
        (reset.code, reset.stdout.as_str()),
        (
            0,
            "password of 'dr.okafor' changed; their sessions have ended\n"
        )
    );
    block_on(async {
        let db = Db::connect(&dir.sqlite_url()).await.unwrap();
        let config = Config::default();
        assert!(
            platform::auth::sign_in(&db, &config, "dr.okafor", "staple battery horse", "::1")
                .await
                .is_ok()
        );
        let old =
            platform::auth::sign_in(&db, &config, "dr.okafor", "correct horse battery", "::1")
                .await;
        assert!(
            matches!(old, Err(platform::Error::BadCredentials)),
            "the old password (with \\r stripped) no longer works"
        );
        db.close().await;
    });
}

#[test]
fn a_token_is_printed_once_scoped_listed_and_revoked() {
    let dir = Dir::new("tokens");
    assert_eq!(
        dir.rounds_with(
            &[
                "user",
                "add",
                "svc.quality",
                "--role",
                "quality",
                "--role",
                "cmo",
                "--password-stdin"
            ],
            Some("service account pw 1\n"),
            &[]
        )
        .code,
        0
    );
    let create = dir.rounds(&[
        "token",
        "create",
        "--user",
        "svc.quality",
        "--role",
        "quality",
        "--expires",
        "30",
    ]);
    assert_eq!(create.code, 0, "{create:?}");
    let token = create.stdout.strip_suffix('\n').unwrap();
    assert!(token.starts_with("rnd_"), "{token}");
    assert_eq!(token.len(), 4 + 43);
    assert!(
        create
            .stderr
            .starts_with("API token 1 for 'svc.quality' (roles quality; expires "),
        "{}",
        create.stderr
    );
    assert!(create.stderr.contains("It cannot be shown again"));

    let principal = block_on(async {
        let db = Db::connect(&dir.sqlite_url()).await.unwrap();
        let p = platform::auth::bearer(&db, token)
            .await
            .unwrap()
            .expect("the printed token is live");
        db.close().await;
        p
    });
    assert_eq!(
        (principal.username.as_str(), principal.roles.as_slice()),
        ("svc.quality", &[Role::Quality][..])
    );

    let list = dir.rounds(&["token", "list"]);
    let rows: Vec<Vec<&str>> = list
        .stdout
        .lines()
        .map(|l| {
            l.split("  ")
                .filter(|c| !c.is_empty())
                .map(str::trim)
                .collect()
        })
        .collect();
    assert_eq!(
        rows[0],
        [
            "ID",
            "USER",
            "ROLES",
            "CREATED",
            "EXPIRES",
            "LAST USED",
            "STATUS"
        ]
    );
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[1][0], rows[1][1], rows[1][2], rows[1][6]),
        ("1", "svc.quality", "quality", "live")
    );
    assert!(
        !list.stdout.contains(token),
        "the token itself is never shown again"
    );

    let unheld = dir.rounds(&["token", "create", "--user", "svc.quality", "--role", "gme"]);
    assert_eq!(
        (unheld.code, unheld.stderr.as_str()),
        (1, "error: role: 'svc.quality' does not hold the role gme\n")
    );
    let revoke = dir.rounds(&["token", "revoke", "1"]);
    assert_eq!(
        (revoke.code, revoke.stdout.as_str()),
        (0, "API token 1 revoked\n")
    );
    assert!(
        dir.rounds(&["token", "list"])
            .stdout
            .lines()
            .nth(1)
            .unwrap()
            .ends_with("revoked")
    );
    let again = dir.rounds(&["token", "revoke", "1"]);
    assert_eq!(
        (again.code, again.stderr.as_str()),
        (1, "error: live API token 1 not found\n")
    );
}

#[test]
fn audit_verify_passes_a_fresh_chain_and_names_a_hand_edited_entry() {
    let dir = Dir::new("audit");
    let fresh = dir.rounds(&["audit", "verify"]);
    assert_eq!(
        (fresh.code, fresh.stdout.as_str()),
        (0, "audit chain intact: 0 entries\n"),
        "{fresh:?}"
    );
    for name in ["dr.okafor", "m.chen", "p.singh"] {
        assert_eq!(dir.rounds(&["user", "add", name, "--role", "cmo"]).code, 0);
    }
    let intact = dir.rounds(&["audit", "verify"]);
    assert_eq!(
        (intact.code, intact.stdout.as_str()),
        (0, "audit chain intact: 3 entries\n")
    );

    // Someone with write access to the file gives m.chen's creation another role.
    sql(
        &dir.sqlite_url(),
        "UPDATE audit_log SET detail = 'roles: admin' WHERE seq = 2",
    );
    let broken = dir.rounds(&["audit", "verify"]);
    assert_eq!(broken.code, 1);
    assert_eq!(
        broken.stdout,
        "audit chain broken at entry 2: its content does not match its hash (altered)\n"
    );

    // …or removes the entry altogether.
    sql(&dir.sqlite_url(), "DELETE FROM audit_log WHERE seq = 2");
    let removed = dir.rounds(&["audit", "verify"]);
    assert_eq!(removed.code, 1);
    assert_eq!(
        removed.stdout,
        "audit chain broken at entry 2: entry 2 is missing (the next entry is 3)\n"
    );
}

#[test]
fn a_backup_restores_the_users_it_held_and_keeps_the_replaced_database() {
    let dir = Dir::new("backup");
    for name in ["dr.okafor", "m.chen"] {
        assert_eq!(
            dir.rounds(&["user", "add", name, "--role", "quality"]).code,
            0
        );
    }
    // A quote in the file name must not break out of the SQL literal.
    let backup = dir.0.join("it's a backup.db");
    let output = backup.to_str().unwrap();
    let made = dir.rounds(&["backup", "--output", output]);
    assert_eq!(made.code, 0, "{made:?}");
    assert!(
        made.stdout
            .starts_with(&format!("backup written to {output} (")),
        "{}",
        made.stdout
    );
    assert!(
        made.stdout.ends_with(" bytes, integrity check ok)\n"),
        "{}",
        made.stdout
    );
    let again = dir.rounds(&["backup", "--output", output]);
    assert_eq!(again.code, 1);
    assert_eq!(
        again.stderr,
        format!(
            "error: {output}: already exists; a backup never overwrites a file, so name a new one\n"
        )
    );

    assert_eq!(
        dir.rounds(&["user", "add", "late.arrival", "--role", "gme"])
            .code,
        0
    );
    let restored = dir.rounds(&["restore", output]);
    assert_eq!(restored.code, 0, "{restored:?}");
    let kept_line = restored.stdout.lines().next().unwrap();
    let kept = PathBuf::from(
        kept_line
            .strip_prefix("the previous database is kept as ")
            .unwrap(),
    );
    assert_eq!(
        restored.stdout.lines().nth(1).unwrap(),
        format!("restored {output} into {}", dir.db_file().display())
    );
    assert!(
        kept.file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("rounds.db.before-restore-")
    );

    assert_eq!(usernames(&dir.sqlite_url()), ["dr.okafor", "m.chen"]);
    assert_eq!(
        usernames(&format!("sqlite://{}", kept.display())),
        ["dr.okafor", "late.arrival", "m.chen"]
    );
    let verify = dir.rounds(&["audit", "verify"]);
    assert_eq!(
        (verify.code, verify.stdout.as_str()),
        (0, "audit chain intact: 2 entries\n")
    );

    // Onto a machine with no database yet: nothing to keep aside.
    let fresh = Dir::new("backup-fresh");
    let restored = fresh.rounds(&["restore", output]);
    assert_eq!(
        (restored.code, restored.stdout.clone()),
        (
            0,
            format!("restored {output} into {}\n", fresh.db_file().display())
        )
    );
    assert_eq!(usernames(&fresh.sqlite_url()), ["dr.okafor", "m.chen"]);

    let not_db = dir.0.join("notes.txt");
    std::fs::write(&not_db, "not a database at all, just some text").unwrap();
    let refused = dir.rounds(&["restore", not_db.to_str().unwrap()]);
    assert_eq!(refused.code, 1);
    assert_eq!(
        refused.stderr,
        format!(
            "error: {}: not an SQLite database (a backup from rounds backup is one)\n",
            not_db.display()
        )
    );
    assert_eq!(
        usernames(&dir.sqlite_url()),
        ["dr.okafor", "m.chen"],
        "a refused restore changes nothing"
    );
}

#[test]
fn restore_refuses_while_the_database_is_open_elsewhere() {
    let dir = Dir::new("in-use");
    assert_eq!(
        dir.rounds(&["user", "add", "dr.okafor", "--role", "cmo"])
            .code,
        0
    );
    let backup = dir.0.join("b.db");
    assert_eq!(
        dir.rounds(&["backup", "--output", backup.to_str().unwrap()])
            .code,
        0
    );
    block_on(async {
        // A running server holds pooled connections open.
        let db = Db::connect(&dir.sqlite_url()).await.unwrap();
        assert_eq!(platform::users::count(&db).await.unwrap(), 1);
        let refused = dir.rounds(&["restore", backup.to_str().unwrap()]);
        assert_eq!(refused.code, 1);
        assert_eq!(
            refused.stderr,
            format!(
                "error: {}: the database is in use by another process; stop every rounds serve using it, then restore\n",
                dir.db_file().display()
            )
        );
        db.close().await;
    });
    let entries: Vec<String> = std::fs::read_dir(dir.data())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        entries.iter().all(|name| !name.contains("restor")),
        "nothing staged or moved aside: {entries:?}"
    );
    assert_eq!(
        dir.rounds(&["restore", backup.to_str().unwrap()]).code,
        0,
        "once the server has stopped"
    );
}

#[test]
fn migrate_applies_pending_migrations_once() {
    let dir = Dir::new("migrate");
    let first = dir.rounds(&["migrate"]);
    // Every module's migrations apply on a fresh database: as many as the ledger then records.
    let recorded = block_on(async {
        let db = Db::connect(&dir.sqlite_url()).await.unwrap();
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM schema_migrations")
            .fetch_one(&db.pool)
            .await
            .unwrap()
            .get(0);
        db.close().await;
        n
    });
    assert!(
        recorded >= 2,
        "the platform's and the modules' migrations ({recorded})"
    );
    assert_eq!(
        (first.code, first.stdout.clone()),
        (0, format!("applied {recorded} migrations\n")),
        "{first:?}"
    );
    let second = dir.rounds(&["migrate"]);
    assert_eq!(
        (second.code, second.stdout.as_str()),
        (0, "applied 0 migrations: the database is up to date\n")
    );
    let check = dir.rounds(&["migrate", "--check"]);
    assert_eq!(
        (check.code, check.stdout.as_str()),
        (0, "the database is up to date\n")
    );
}

#[test]
fn a_database_from_a_newer_version_is_refused() {
    let dir = Dir::new("newer");
    assert_eq!(dir.rounds(&["migrate"]).code, 0);
    sql(
        &dir.sqlite_url(),
        "INSERT INTO schema_migrations (module, version, name, checksum, applied_at) \
         VALUES ('platform', 999, 'from the future', 'x', '2030-01-01T00:00:00.000000Z')",
    );
    let expected = "error: the database was migrated by a newer version of Rounds (it has platform migration 999, \
                    which this binary does not know); run the newer version or restore a backup taken before the upgrade\n";
    for args in [&["migrate"][..], &["user", "list"], &["audit", "verify"]] {
        let refused = dir.rounds(args);
        assert_eq!(
            (refused.code, refused.stderr.as_str()),
            (1, expected),
            "rounds {args:?}"
        );
    }
    // A backup of it is refused by restore too, naming the file.
    let backup = dir.0.join("future.db");
    assert_eq!(
        dir.rounds(&["backup", "--output", backup.to_str().unwrap()])
            .code,
        0,
        "a backup does not migrate"
    );
    let other = Dir::new("newer-restore");
    let refused = other.rounds(&["restore", backup.to_str().unwrap()]);
    assert_eq!(refused.code, 1);
    assert_eq!(
        refused.stderr,
        format!(
            "error: {}: refused: it was made by a newer version of Rounds (it has platform migration 999, which this \
             binary does not know); restore it with that version\n",
            backup.display()
        )
    );
}

#[test]
fn config_masks_a_database_password_from_the_environment() {
    let dir = Dir::new("config");
    let url = [(
        "ROUNDS_DATABASE_URL",
        "postgres://rounds:hunter22@db.example:5432/rounds",
    )];
    let shown = dir.rounds_with(&["config"], None, &url);
    assert_eq!(shown.code, 0, "{shown:?}");
    assert!(
        shown
            .stdout
            .contains("database_url = \"postgres://rounds:****@db.example:5432/rounds\"\n"),
        "{}",
        shown.stdout
    );
    assert!(shown.stdout.contains("session_idle_minutes = 30\n"));
    assert!(!shown.stdout.contains("hunter22"));
    let help = dir.rounds_with(&["config", "--help"], None, &url);
    assert!(
        help.stdout.contains("[env: ROUNDS_DATABASE_URL]") && !help.stdout.contains("hunter22"),
        "{}",
        help.stdout
    );

    // PostgreSQL is backed up with pg_dump; the advice names it without the password.
    let backup = dir.rounds_with(&["backup", "--output", "x.db"], None, &url);
    assert_eq!(backup.code, 1);
    assert!(
        backup.stderr.contains("pg_dump --format=custom"),
        "{}",
        backup.stderr
    );
    assert!(!backup.stderr.contains("hunter22"));
    assert!(!dir.0.join("x.db").exists());
}

#[test]
fn every_operations_command_is_listed_with_a_description() {
    let help = run(&std::env::temp_dir(), &["--help"], None, &[]);
    for command in [
        "user", "token", "audit", "migrate", "config", "backup", "restore",
    ] {
        let line = help
            .stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{command} ")))
            .unwrap_or_else(|| panic!("{command} listed"));
        assert!(line.split_whitespace().count() > 3, "{line}");
    }
}

/// The same commands against a fresh PostgreSQL database, when one is available.
#[test]
fn the_commands_work_on_postgresql() {
    let Some(admin) = std::env::var("ROUNDS_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        assert!(
            std::env::var("ROUNDS_TEST_REQUIRE_ALL").as_deref() != Ok("1"),
            "ROUNDS_TEST_REQUIRE_ALL=1 but ROUNDS_TEST_POSTGRES_URL is not set"
        );
        eprintln!("ROUNDS_TEST_POSTGRES_URL is not set: the PostgreSQL run of the CLI is skipped");
        return;
    };
    let name = format!("rounds_cli_{}_{}", std::process::id(), rand_suffix());
    let statement = format!("CREATE DATABASE {name}");
    block_on(async {
        let db = Db::connect(&admin).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(statement))
            .execute(&db.pool)
            .await
            .unwrap();
        db.close().await;
    });
    let base = admin.rsplit_once('/').map(|(base, _)| base).unwrap();
    let url = format!("{base}/{name}");
    let dir = Dir::new("postgres");
    let env = [("ROUNDS_DATABASE_URL", url.as_str())];
    let pg = |args: &[&str], stdin: Option<&str>| run(&dir.0, args, stdin, &env);

    let migrated = pg(&["migrate"], None).stdout;
    assert!(
        migrated.starts_with("applied ")
            && migrated.ends_with(" migrations\n")
            && migrated != "applied 0 migrations\n",
        "{migrated}"
    );
    assert_eq!(
        pg(&["migrate", "--check"], None).stdout,
        "the database is up to date\n"
    );
    let add = pg(
        &[
            "user",
            "add",
            "dr.okafor",
            "--role",
            "cmo",
            "--password-stdin",
        ],
        Some("correct horse battery\n"),
    );
    assert_eq!(
        (add.code, add.stdout.as_str()),
        (0, "created user 'dr.okafor' with roles cmo\n"),
        "{add:?}"
    );
    let list = pg(&["user", "list"], None);
    assert_eq!(
        list.stdout,
        "NAME       DISPLAY NAME  ROLES  DISABLED\ndr.okafor                cmo    no\n"
    );
    assert!(
        pg(&["token", "create", "--user", "dr.okafor"], None)
            .stdout
            .starts_with("rnd_")
    );
    assert_eq!(
        pg(&["audit", "verify"], None).stdout,
        "audit chain intact: 2 entries\n"
    );
    block_on(async {
        let db = Db::connect(&url).await.unwrap();
        sqlx::query("UPDATE audit_log SET actor = 'someone else' WHERE seq = 1")
            .execute(&db.pool)
            .await
            .unwrap();
        db.close().await;
    });
    let broken = pg(&["audit", "verify"], None);
    assert_eq!(
        (broken.code, broken.stdout.as_str()),
        (
            1,
            "audit chain broken at entry 1: its content does not match its hash (altered)\n"
        )
    );
    let backup = pg(&["backup", "--output", "x.db"], None);
    assert_eq!(backup.code, 1);
    assert!(backup.stderr.contains("pg_dump"), "{}", backup.stderr);

    let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    block_on(async {
        let db = Db::connect(&admin).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(drop))
            .execute(&db.pool)
            .await
            .unwrap();
        db.close().await;
    });
}

fn rand_suffix() -> String {
    use std::hash::{BuildHasher, RandomState};
    format!(
        "{:x}",
        RandomState::new().hash_one(std::time::SystemTime::now()) & 0xffff_ffff
    )
}

/// A `rounds serve` child process on a free loopback port, killed if a test fails.
struct Server {
    child: std::process::Child,
    address: String,
    /// What the server printed on standard output before it was ready.
    banner: Vec<String>,
}

impl Server {
    fn start(dir: &Dir) -> Server {
        Server::start_with(dir, &[])
    }

    /// `rounds serve` with `extra` arguments; what it prints before it serves is kept in `banner`.
    fn start_with(dir: &Dir, extra: &[&str]) -> Server {
        use std::io::BufRead;
        let data = dir.data();
        let mut command = Command::new(env!("CARGO_BIN_EXE_rounds"));
        command
            .args([
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--data-dir",
                data.to_str().unwrap(),
            ])
            .args(extra)
            .current_dir(&dir.0)
            .env("ROUNDS_JOBS", "0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = command.spawn().unwrap();
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut banner = Vec::new();
        let first = loop {
            let line = lines.next().unwrap().unwrap();
            if line.starts_with("Rounds is serving") {
                break line;
            }
            banner.push(line);
        };
        let address = first
            .strip_prefix("Rounds is serving http://")
            .and_then(|a| a.strip_suffix('/'))
            .unwrap_or_else(|| panic!("{first}"))
            .to_string();
        banner.push(first);
        // The sign-in lines follow at once; a short read window collects them.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        while let Ok(line) = rx.recv_timeout(std::time::Duration::from_millis(300)) {
            banner.push(line);
        }
        Server {
            child,
            address,
            banner,
        }
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String) {
        http(&self.address, method, path, headers, body).expect("the server answers")
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

/// One HTTP/1.1 request with `Connection: close`: the status and the body, or `None` when the
/// connection fails.
fn http(
    address: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Option<(u16, String)> {
    use std::io::Read;
    let mut stream = std::net::TcpStream::connect(address).ok()?;
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.get(9..12)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Some((status, body))
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serve_creates_the_first_admin_once_and_stops_cleanly_on_sigterm() {
    let dir = Dir::new("serve");
    let mut server = Server::start(&dir);
    let password_line = server
        .banner
        .iter()
        .find(|l| l.starts_with("First run: sign in as `admin` with the password "))
        .expect("the first run prints the admin password");
    let password = password_line.rsplit(' ').next().unwrap().to_string();
    assert_eq!(
        server.request("GET", "/healthz", &[], ""),
        (200, "ok".to_string())
    );
    assert_eq!(server.request("GET", "/readyz", &[], "").0, 200);

    server.signal("-TERM");
    let status = server.child.wait().unwrap();
    assert!(
        status.success(),
        "SIGTERM ends the server cleanly: {status:?}"
    );

    let hash: String = block_on(async {
        let db = Db::connect(&dir.sqlite_url()).await.unwrap();
        let user = platform::users::find(&db, "admin").await.unwrap();
        assert_eq!(user.roles, [Role::Admin]);
        platform::users::password_hash(&db, user.id).await.unwrap()
    });
    assert!(
        platform::users::verify_password(&hash, &password),
        "the printed password is the admin's"
    );

    let again = Server::start(&dir);
    assert!(
        !again.banner.iter().any(|l| l.contains("First run")),
        "the password is printed only once: {:?}",
        again.banner
    );
}

#[test]
fn a_server_killed_while_writing_leaves_a_consistent_database_and_an_intact_chain() {
    let dir = Dir::new("kill9");
    assert_eq!(
        dir.rounds_with(
            &["user", "add", "etl", "--role", "admin", "--password-stdin"],
            Some("a long enough passphrase\n"),
            &[]
        )
        .code,
        0
    );
    let token = dir
        .rounds(&["token", "create", "--user", "etl"])
        .stdout
        .trim()
        .to_string();
    let server = Server::start(&dir);
    let auth = format!("Bearer {token}");
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (address, auth) = (server.address.clone(), auth.clone());
            std::thread::spawn(move || {
                let mut created = 0;
                for i in 0.. {
                    let body = format!("{{\"name\": \"Hospital {w}-{i}\"}}");
                    let headers = [
                        ("Authorization", auth.as_str()),
                        ("Content-Type", "application/json"),
                    ];
                    match http(&address, "POST", "/api/v1/facilities", &headers, &body) {
                        Some((201, _)) => created += 1,
                        _ => break,
                    }
                }
                created
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    server.signal("-KILL");
    let acknowledged: i64 = writers.into_iter().map(|w| w.join().unwrap()).sum();
    drop(server);

    let verify = dir.rounds(&["audit", "verify"]);
    assert_eq!(verify.code, 0, "{verify:?}");
    let (facilities, audited) = block_on(async {
        let db = Db::connect(&dir.sqlite_url()).await.unwrap();
        let facilities = platform::org::facilities(&db).await.unwrap().len() as i64;
        let filter = platform::audit::Search {
            action: Some("facility.create".into()),
            ..Default::default()
        };
        let audited = platform::audit::search(&db, &filter, 100_000)
            .await
            .unwrap()
            .len() as i64;
        (facilities, audited)
    });
    assert!(acknowledged > 10, "the writers got going ({acknowledged})");
    assert!(
        facilities >= acknowledged,
        "every acknowledged write survived ({facilities} < {acknowledged})"
    );
    assert_eq!(
        facilities, audited,
        "each facility has its audit entry and no entry lacks its facility"
    );
}

#[test]
fn serve_demo_builds_imports_and_serves_a_synthetic_health_system_once() {
    let dir = Dir::new("demo");
    let server = Server::start_with(&dir, &["--demo"]);
    let accounts: Vec<&String> = server
        .banner
        .iter()
        .filter(|l| l.starts_with("  demo"))
        .collect();
    assert_eq!(
        accounts.len(),
        1 + 14,
        "demo and one account per role: {:?}",
        server.banner
    );
    assert!(
        accounts
            .iter()
            .any(|l| l.starts_with("  demo.pv-physician "))
    );
    assert!(
        server
            .banner
            .iter()
            .any(|l| l.ends_with(" records imported")),
        "{:?}",
        server.banner
    );
    assert_eq!(server.request("GET", "/readyz", &[], "").0, 200);
    drop(server);
    let (encounters, facilities) = block_on(async {
        let db = Db::connect(&dir.sqlite_url()).await.unwrap();
        let count = |sql: &'static str| sqlx::query(sql).fetch_one(&db.pool);
        let e: i64 = count("SELECT COUNT(*) FROM encounters")
            .await
            .unwrap()
            .get(0);
        let f: i64 = count("SELECT COUNT(*) FROM facilities")
            .await
            .unwrap()
            .get(0);
        db.close().await;
        (e, f)
    });
    assert!(
        encounters > 10_000 && facilities >= 1,
        "{encounters} encounters, {facilities} facilities"
    );
    assert!(dir.data().join("truth.json").exists() && dir.data().join("faers").is_dir());

    let again = Server::start_with(&dir, &["--demo"]);
    assert!(
        !again
            .banner
            .iter()
            .any(|l| l.ends_with(" records imported")),
        "a second start serves what is there: {:?}",
        again.banner
    );
}
