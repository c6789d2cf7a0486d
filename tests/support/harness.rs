//! The integration tests' runner: [libtest-mimic] in place of libtest, so that a test which finds
//! at run time that something it needs is missing here (PostgreSQL, Redis, Chromium, a
//! `redis-server` binary, …) is reported as `ignored (why)` in the runner's own summary, instead of
//! passing without having run. With `CI=true` the same test fails instead.
//!
//! A test is an `async fn` registered with one line above it:
//!
//! ```ignore
//! integration_test!(logs_in);                     // async fn logs_in()
//! integration_test!(races, threads: 4);           // on a 4-worker multi-threaded runtime
//! backend_test!(files_a_request);                 // async fn files_a_request(backend: Backend),
//!                                                 // one test per entry of `Backend::ALL`
//! ```
//!
//! Tests are named `module::function` (`module::function::backend` for backend tests), filtered
//! and listed as with libtest (`cargo test -- requests::`, `-- --list`, `-- --test-threads 1`).
//! Output is not captured: what a test prints appears as it runs.
//!
//! [libtest-mimic]: https://docs.rs/libtest-mimic

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::ExitCode;

use futures::future::LocalBoxFuture;
use libtest_mimic::{Arguments, Completion, Failed, Trial};

use super::Backend;

/// One registered test (see [`integration_test!`] and [`backend_test!`]).
pub struct Test {
    /// `module_path!()` where it was registered.
    pub module: &'static str,
    pub name: &'static str,
    /// Worker threads of its Tokio runtime; 1 runs it on a current-thread runtime as
    /// `#[tokio::test]` does.
    pub threads: usize,
    pub body: Body,
}

pub enum Body {
    Once(fn() -> LocalBoxFuture<'static, ()>),
    OnEveryBackend(fn(Backend) -> LocalBoxFuture<'static, ()>),
}

inventory::collect!(Test);

/// Registers `async fn $name()` as a test; `threads: N` runs it on an N-worker runtime.
macro_rules! integration_test {
    ($name:ident $(, threads: $threads:literal)?) => {
        inventory::submit! {
            $crate::support::harness::Test {
                module: module_path!(),
                name: stringify!($name),
                threads: $crate::support::harness::threads(&[$($threads)?]),
                body: $crate::support::harness::Body::Once(|| Box::pin($name())),
            }
        }
    };
}

/// Registers `async fn $name(backend: Backend)` as one test per backend of [`Backend::ALL`],
/// named `$name::sqlite`, `$name::postgres`, …; `threads: N` as for [`integration_test!`].
macro_rules! backend_test {
    ($name:ident $(, threads: $threads:literal)?) => {
        inventory::submit! {
            $crate::support::harness::Test {
                module: module_path!(),
                name: stringify!($name),
                threads: $crate::support::harness::threads(&[$($threads)?]),
                body: $crate::support::harness::Body::OnEveryBackend(|backend| Box::pin($name(backend))),
            }
        }
    };
}

pub(crate) use {backend_test, integration_test};

/// The worker threads a registration asks for (1 when it names none).
pub const fn threads(asked: &[usize]) -> usize {
    if let [n] = asked { *n } else { 1 }
}

/// The panic payload of [`skip`].
struct Skip(String);

/// Whether this run is CI's (`CI=true`), where nothing may be skipped.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Ends the current test as ignored, with the reason shown in the runner's summary; with
/// `CI=true` the test fails with that reason instead. Call it before the test has done anything.
pub fn skip(reason: impl Into<String>) -> ! {
    let reason = reason.into();
    if in_ci() {
        panic!("{reason}: required in CI");
    }
    std::panic::panic_any(Skip(reason))
}

/// Runs every registered test (the `main` of `tests/integration.rs`).
pub fn main() -> ExitCode {
    let (args, filters) = arguments(std::env::args());
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // A skip is no failure: nothing to print.
        if !info.payload().is::<Skip>() {
            default_hook(info);
        }
    }));
    let mut trials: Vec<Trial> = inventory::iter::<Test>.into_iter().flat_map(trials).collect();
    trials.sort_by(|a, b| a.name().cmp(b.name()));
    if !filters.is_empty() {
        let wanted =
            |name: &str| filters.iter().any(|f| if args.exact { name == f } else { name.contains(f.as_str()) });
        trials.retain(|trial| wanted(trial.name()));
    }
    libtest_mimic::run(&args, trials).exit_code()
}

/// libtest's arguments; the name filters apart, since libtest takes several (`cargo test --
/// requests:: sender::`) and libtest-mimic one.
fn arguments(args: impl Iterator<Item = String>) -> (Arguments, Vec<String>) {
    const WITH_VALUE: [&str; 6] = ["--test-threads", "--logfile", "--skip", "--color", "--format", "-Z"];
    let mut options = Vec::new();
    let mut filters = Vec::new();
    let mut args = args.peekable();
    options.extend(args.next()); // the program
    while let Some(arg) = args.next() {
        if WITH_VALUE.contains(&arg.as_str()) {
            options.push(arg);
            options.extend(args.next());
        } else if arg.starts_with('-') {
            options.push(arg);
        } else {
            filters.push(arg);
        }
    }
    (Arguments::from_iter(options), filters)
}

fn trials(test: &'static Test) -> Vec<Trial> {
    let module = test.module.split_once("::").map_or("", |(_, module)| module);
    let name = format!("{module}::{}", test.name);
    match test.body {
        Body::Once(body) => vec![trial(name, test.threads, body)],
        Body::OnEveryBackend(body) => Backend::ALL
            .into_iter()
            .map(|backend| trial(format!("{name}::{}", backend.name()), test.threads, move || body(backend)))
            .collect(),
    }
}

fn trial(name: String, threads: usize, body: impl FnOnce() -> LocalBoxFuture<'static, ()> + Send + 'static) -> Trial {
    Trial::ignorable_test(name, move || {
        let ran = catch_unwind(AssertUnwindSafe(|| {
            let runtime = if threads > 1 {
                tokio::runtime::Builder::new_multi_thread().worker_threads(threads).enable_all().build()
            } else {
                tokio::runtime::Builder::new_current_thread().enable_all().build()
            };
            runtime.expect("a Tokio runtime").block_on(body());
        }));
        match ran {
            Ok(()) => Ok(Completion::Completed),
            Err(payload) => match payload.downcast::<Skip>() {
                Ok(skip) => Ok(Completion::ignored_with(skip.0)),
                Err(payload) => Err(Failed::from(panic_message(&*payload))),
            },
        }
    })
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    match (payload.downcast_ref::<&str>(), payload.downcast_ref::<String>()) {
        (Some(s), _) => (*s).to_owned(),
        (_, Some(s)) => s.clone(),
        _ => "the test panicked".to_owned(),
    }
}
