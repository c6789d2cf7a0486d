//! The handler tree: which handler an update goes to.
//!
//! ```text
//! update
//! ├─ my_chat_member ─────────────────────────────────────── membership::my_chat_member
//! ├─ callback_query ─ its data parsed as a Callback?
//! │   ├─ yes ─ RequestType / Submit / CancelDialog / CancelRequest / Lang   (anyone)
//! │   │        administrators only: Approve / Reject / SkipReason / Start / Done / Export
//! │   │        else ───────────────────────────────────────── decisions::refuse_button
//! │   └─ no ──────────────────────────────────────────────── start::outdated_button
//! └─ message
//!     ├─ a command for this bot?
//!     │   ├─ unknown ─────────────────────────────────────── start::unknown_command
//!     │   ├─ /start /help /cancel /lang /request /myrequests /list /today   (anyone)
//!     │   │  administrators only: /pending /approve /reject /ask /reopen /search /export
//!     │   └─ else ────────────────────────────────────────── decisions::refuse_command
//!     ├─ administrators only: a decision written in reply to a request's copy
//!     ├─ a reply to a message about a request?
//!     │   ├─ from its client ─────────────────────────────── thread::client_comment
//!     │   └─ administrators only ─────────────────────────── thread::staff_reply
//!     ├─ by the chat's dialog step (loaded from the dialog store here, not before):
//!     │   Describing · RejectReason (administrators only) · ChoosingType · Confirming
//!     ├─ a request of the sender waits for their answer ─── thread::client_comment
//!     └─ anything else ───────────────────────────────────── start::free_text
//! ```
//!
//! [`tree`] builds the branches and asks `to` for the handler at the end of each, named by a
//! [`Route`]; [`schema`] gives it [`handler`], the table of the conversation's functions. The
//! tree's test gives it a recorder instead and checks where each update goes.

use std::collections::BTreeSet;
use std::ops::ControlFlow;
use std::sync::Arc;

use dptree::di::Injectable;
use dptree::{HandlerDescription, HandlerSignature, Type};
use teloxide::dispatching::{DpHandlerDescription, UpdateFilterExt, UpdateHandler};
use teloxide::types::{CallbackQuery, Message, Update};

use super::callback::Callback;
use super::command::{self, Command, Parsed};
use super::content::Content;
use super::context::Ctx;
use super::dialog::Dialog;
use super::{BotError, BotUsername, HandlerResult};
use super::{decisions, export, lists, membership, request, start, thread, work};

/// The end of a branch of the tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Route {
    MyChatMember,
    // Commands.
    Start,
    Help,
    Cancel,
    Lang,
    Request,
    MyRequests,
    List,
    Today,
    Pending,
    Approve,
    Reject,
    Ask,
    Reopen,
    Mine,
    Note,
    Search,
    Export,
    RefusedCommand,
    UnknownCommand,
    // Other messages.
    ReplyDecision,
    ClientComment,
    StaffReply,
    Describing,
    RejectReason,
    ChoosingType,
    Confirming,
    FreeText,
    // Buttons.
    RequestType,
    Submit,
    CancelDialog,
    Withdraw,
    LangChosen,
    ApproveButton,
    RejectButton,
    SkipReasonButton,
    TakeButton,
    DoneButton,
    ExportButton,
    RefusedButton,
    OutdatedButton,
}

/// The bot's handler tree, as [`crate::inbound`] runs it with the update, its [`Ctx`] and the
/// [`BotUsername`].
pub fn schema() -> UpdateHandler<BotError> {
    tree(handler)
}

/// The function that handles each route.
fn handler(route: Route) -> UpdateHandler<BotError> {
    match route {
        Route::MyChatMember => dptree::endpoint(membership::my_chat_member),
        Route::Start => dptree::endpoint(start::start),
        Route::Help => dptree::endpoint(start::help),
        Route::Cancel => dptree::endpoint(start::cancel),
        Route::Lang => dptree::endpoint(start::lang),
        Route::Request => dptree::endpoint(request::choose_type),
        Route::MyRequests => dptree::endpoint(lists::my_requests),
        Route::List => dptree::endpoint(lists::list),
        Route::Today => dptree::endpoint(lists::today),
        Route::Pending => dptree::endpoint(decisions::pending),
        Route::Approve => dptree::endpoint(decisions::approve_command),
        Route::Reject => dptree::endpoint(decisions::reject_command),
        Route::Ask => dptree::endpoint(work::ask_command),
        Route::Reopen => dptree::endpoint(work::reopen_command),
        Route::Mine => dptree::endpoint(thread::mine),
        Route::Note => dptree::endpoint(thread::note_command),
        Route::Search => dptree::endpoint(lists::search),
        Route::Export => dptree::endpoint(export::offer),
        Route::RefusedCommand => dptree::endpoint(decisions::refuse_command),
        Route::UnknownCommand => dptree::endpoint(start::unknown_command),
        Route::ReplyDecision => dptree::endpoint(decisions::by_reply),
        Route::ClientComment => dptree::endpoint(thread::client_comment),
        Route::StaffReply => dptree::endpoint(thread::staff_reply),
        Route::Describing => dptree::endpoint(request::describe),
        Route::RejectReason => dptree::endpoint(decisions::reject_reason),
        Route::ChoosingType => dptree::endpoint(request::choose_type),
        Route::Confirming => dptree::endpoint(request::confirm_first),
        Route::FreeText => dptree::endpoint(start::free_text),
        Route::RequestType => dptree::endpoint(request::type_chosen),
        Route::Submit => dptree::endpoint(request::submit),
        Route::CancelDialog => dptree::endpoint(request::cancel_dialog),
        Route::Withdraw => dptree::endpoint(request::withdraw),
        Route::LangChosen => dptree::endpoint(start::lang_chosen),
        Route::ApproveButton => dptree::endpoint(decisions::approve_button),
        Route::RejectButton => dptree::endpoint(decisions::reject_button),
        Route::SkipReasonButton => dptree::endpoint(decisions::skip_reason_button),
        Route::TakeButton => dptree::endpoint(work::take_button),
        Route::DoneButton => dptree::endpoint(work::done_button),
        Route::ExportButton => dptree::endpoint(export::send),
        Route::RefusedButton => dptree::endpoint(decisions::refuse_button),
        Route::OutdatedButton => dptree::endpoint(start::outdated_button),
    }
}

/// The tree, with `to` giving the handler at the end of each branch.
pub fn tree(to: impl Fn(Route) -> UpdateHandler<BotError> + Copy) -> UpdateHandler<BotError> {
    dptree::entry()
        .branch(Update::filter_my_chat_member().chain(to(Route::MyChatMember)))
        .branch(buttons(to))
        .branch(messages(to))
}

fn messages(to: impl Fn(Route) -> UpdateHandler<BotError> + Copy) -> UpdateHandler<BotError> {
    let command = |msg: Message, me: BotUsername| msg.text().and_then(|text| command::of_text(text, &me.0));
    let reply_decision = administrators_only()
        .filter_map(decisions::reply_decision)
        .chain(try_filter_map(decisions::on_copy))
        .chain(to(Route::ReplyDecision));
    let about_request = try_filter_map(thread::replying_to_request)
        .branch(dptree::filter(thread::from_its_client).chain(to(Route::ClientComment)))
        .branch(administrators_only().chain(to(Route::StaffReply)));
    let dialog = async |ctx: Arc<Ctx>| Ok(Some(ctx.dialog().await?));
    Update::filter_message()
        .branch(dptree::filter_map(command).chain(commands(to)))
        .map(Content::of)
        .branch(reply_decision)
        .branch(about_request)
        .chain(try_filter_map(dialog))
        .branch(dptree::filter_map(|step: Option<Dialog>| step).chain(dialog_steps(to)))
        .branch(try_filter_map(thread::waiting_for_sender).chain(to(Route::ClientComment)))
        .chain(to(Route::FreeText))
}

fn commands(to: impl Fn(Route) -> UpdateHandler<BotError> + Copy) -> UpdateHandler<BotError> {
    let everyone = dptree::entry()
        .branch(dptree::case![Command::Start(payload)].chain(to(Route::Start)))
        .branch(dptree::case![Command::Help].chain(to(Route::Help)))
        .branch(dptree::case![Command::Cancel].chain(to(Route::Cancel)))
        .branch(dptree::case![Command::Lang].chain(to(Route::Lang)))
        .branch(dptree::case![Command::Request].chain(to(Route::Request)))
        .branch(dptree::case![Command::MyRequests].chain(to(Route::MyRequests)))
        .branch(dptree::case![Command::List].chain(to(Route::List)))
        .branch(dptree::case![Command::Today].chain(to(Route::Today)));
    let administrators = administrators_only()
        .branch(dptree::case![Command::Pending].chain(to(Route::Pending)))
        .branch(dptree::case![Command::Approve(args)].chain(to(Route::Approve)))
        .branch(dptree::case![Command::Reject(args)].chain(to(Route::Reject)))
        .branch(dptree::case![Command::Ask(args)].chain(to(Route::Ask)))
        .branch(dptree::case![Command::Reopen(args)].chain(to(Route::Reopen)))
        .branch(dptree::case![Command::Mine].chain(to(Route::Mine)))
        .branch(dptree::case![Command::Note(args)].chain(to(Route::Note)))
        .branch(dptree::case![Command::Search(query)].chain(to(Route::Search)))
        .branch(dptree::case![Command::Export].chain(to(Route::Export)));
    dptree::entry().branch(dptree::filter_map(|parsed: Parsed| parsed.err()).chain(to(Route::UnknownCommand))).branch(
        dptree::filter_map(|parsed: Parsed| parsed.ok())
            .branch(everyone)
            .branch(administrators)
            .chain(to(Route::RefusedCommand)),
    )
}

fn dialog_steps(to: impl Fn(Route) -> UpdateHandler<BotError> + Copy) -> UpdateHandler<BotError> {
    dptree::entry()
        .branch(dptree::case![Dialog::Describing { type_id }].chain(to(Route::Describing)))
        .branch(
            administrators_only()
                .chain(dptree::case![Dialog::RejectReason { request_id }])
                .chain(to(Route::RejectReason)),
        )
        .branch(dptree::case![Dialog::ChoosingType].chain(to(Route::ChoosingType)))
        .branch(dptree::filter(|step: Dialog| matches!(step, Dialog::Confirming { .. })).chain(to(Route::Confirming)))
}

fn buttons(to: impl Fn(Route) -> UpdateHandler<BotError> + Copy) -> UpdateHandler<BotError> {
    let everyone = dptree::entry()
        .branch(dptree::case![Callback::RequestType(type_id)].chain(to(Route::RequestType)))
        .branch(dptree::case![Callback::Submit(key)].chain(to(Route::Submit)))
        .branch(dptree::case![Callback::CancelDialog].chain(to(Route::CancelDialog)))
        .branch(dptree::case![Callback::CancelRequest(request_id)].chain(to(Route::Withdraw)))
        .branch(dptree::case![Callback::Lang(code)].chain(to(Route::LangChosen)));
    let administrators = administrators_only()
        .branch(dptree::case![Callback::Approve(request_id)].chain(to(Route::ApproveButton)))
        .branch(dptree::case![Callback::Reject(request_id)].chain(to(Route::RejectButton)))
        .branch(dptree::case![Callback::SkipReason(request_id)].chain(to(Route::SkipReasonButton)))
        .branch(dptree::case![Callback::Start(request_id)].chain(to(Route::TakeButton)))
        .branch(dptree::case![Callback::Done(request_id)].chain(to(Route::DoneButton)))
        .branch(dptree::case![Callback::Export(export)].chain(to(Route::ExportButton)));
    let callback = |query: CallbackQuery| query.data.as_deref().and_then(Callback::parse);
    Update::filter_callback_query()
        .branch(dptree::filter_map(callback).branch(everyone).branch(administrators).chain(to(Route::RefusedButton)))
        .chain(to(Route::OutdatedButton))
}

/// Goes on only for an active administrator, with their
/// [`Actor`](crate::services::requests::Actor) for the handlers.
fn administrators_only() -> UpdateHandler<BotError> {
    dptree::filter_map(|ctx: Arc<Ctx>| ctx.admin.clone())
}

/// Like dptree's `filter_map_async`, for a step that can fail: `Ok(Some(value))` adds the
/// value and goes on, `Ok(None)` skips the branch, and an error ends the update's handling
/// with that error (a dialog store that cannot be reached is an error to report, so that the
/// update is delivered again, not a branch to skip).
fn try_filter_map<P, T, Args>(projection: P) -> UpdateHandler<BotError>
where
    P: Injectable<Result<Option<T>, BotError>, Args> + Send + Sync + 'static,
    T: Send + Sync + 'static,
{
    let projection = Arc::new(projection);
    let step = move |container: dptree::di::DependencyMap, cont: dptree::Cont<'static, HandlerResult>| {
        let projection = Arc::clone(&projection);
        async move {
            let result = {
                let run = projection.inject(&container);
                run().await
            };
            match result {
                Err(e) => ControlFlow::Break(Err(e)),
                Ok(None) => ControlFlow::Continue(container),
                Ok(Some(value)) => {
                    let mut next = container.clone();
                    next.insert(value);
                    match cont(next).await {
                        ControlFlow::Continue(_) => ControlFlow::Continue(container),
                        done => done,
                    }
                }
            }
        }
    };
    let signature = HandlerSignature::Other {
        obligations: P::obligations(),
        guaranteed_outcomes: BTreeSet::from([Type::of::<T>()]),
        conditional_outcomes: BTreeSet::new(),
        continues: true,
    };
    dptree::from_fn_with_description(DpHandlerDescription::user_defined(), step, signature)
}

#[cfg(test)]
mod tests;
