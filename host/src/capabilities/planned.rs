//! `run --plan`: what the call path does instead of sending a write. The write is recorded in
//! order (see `crate::plan`) and the plugin gets the answer Pleo would give; owner checks still
//! apply, and the current state of an object a write changes is fetched once (a read, counted
//! and audited as `plan-before`) so the plan can show a diff and apply can detect a change.

use std::time::Instant;

use serde_json::Value;

use super::call::Answer;
use super::ownership::{IdAt, Target};
use super::read_ahead::{self, Fetched};
use super::table::{self, Effect, Op, Want};
use super::{Caps, HostError, PleoError, ownership};
use crate::audit::Call;
use crate::pleo::{self, ApiError, ApiRequest};

impl Caps {
    /// Records `req` (a write, or a read of a planned object) instead of sending it.
    pub(super) async fn planned(
        &mut self,
        op: &'static Op,
        req: ApiRequest,
    ) -> Result<Answer, HostError> {
        let Some(plan) = &self.plan else {
            unreachable!("only called in a plan run")
        };
        if op.effect == Effect::Read {
            return planned_answer(plan.read(&req, matches!(op.answer, Want::Page)));
        }
        if let Some(Target {
            kind,
            id: IdAt::BodyList(field),
        }) = &op.target
        {
            return self.planned_bulk(op, kind, field, req).await;
        }
        let target = op.target.as_ref().and_then(|t| {
            ownership::target_id(op.template, &req.path, req.body.as_ref(), &t.id)
                .map(|id| (t.kind, id))
        });
        let on_planned = target
            .as_ref()
            .is_some_and(|(_, id)| plan.is_placeholder(id));
        let shown = shown_object(op, &req, target.as_ref());
        let needs_before = shown
            .as_ref()
            .filter(|s| s.get.is_some() && plan.needs_before(&s.id))
            // A nested object of a planned parent, or planned itself, is not in Pleo yet.
            .filter(|s| !s.nested || !plan.mentions_placeholder(&req))
            .and_then(|s| s.get.clone());
        if !on_planned {
            self.check_target(op, &req).await?;
        }
        let before = match needs_before {
            Some(path) => Some(self.fetch_before(op, path).await?),
            None => None,
        };
        self.spend_call()?;
        let bytes_out = match &mut self.plan {
            Some(plan) => plan.charge(&req).map_err(super::invalid)?,
            None => unreachable!("only called in a plan run"),
        };
        let write = crate::plan::WriteOp {
            interface: op.interface_name(),
            function: op.function,
            target: shown
                .as_ref()
                .map(|s| (s.kind, s.get.as_deref(), s.id.clone())),
        };
        let company = self.company_id.clone();
        let Some(plan) = &mut self.plan else {
            unreachable!("only called in a plan run")
        };
        let answer = plan.record(
            &write,
            &company,
            &req,
            before,
            matches!(op.answer, Want::Json),
            matches!(op.answer, Want::Nothing),
        );
        let object_id = plan.writes().last().and_then(|w| {
            w.placeholders
                .first()
                .cloned()
                .or_else(|| w.target.as_ref().map(|t| t.id.clone()))
        });
        let plan_id = Some(plan.plan_id.clone());
        self.record(Call {
            interface: op.interface_name(),
            function: op.function,
            scope: Some(op.scope()),
            http: Some((op.method.as_str(), op.template)),
            bytes_out,
            outcome: "planned",
            object_id,
            plan_id,
            ..Call::default()
        });
        planned_answer(answer)
    }

    /// A bulk write (`archive-tags`, `delete-tags`): the owner of each named object that is
    /// not a placeholder is checked, and its state before fetched (once per object and plan,
    /// a read each: the family bounds how many ids one call names), so the plan shows what it
    /// archives or deletes and apply can tell whether any of them changed.
    async fn planned_bulk(
        &mut self,
        op: &'static Op,
        kind: &'static ownership::Kind,
        field: &'static str,
        req: ApiRequest,
    ) -> Result<Answer, HostError> {
        let Some(plan) = &self.plan else {
            unreachable!("only called in a plan run")
        };
        let ids = ownership::target_ids(
            op.template,
            &req.path,
            req.body.as_ref(),
            &IdAt::BodyList(field),
        );
        let existing: Vec<String> = ids
            .iter()
            .filter(|id| !plan.is_placeholder(id))
            .cloned()
            .collect();
        let fetch: Vec<bool> = ids.iter().map(|id| plan.needs_before(id)).collect();
        if !existing.is_empty() {
            let mut only_existing = req.clone();
            if let Some(body) = &mut only_existing.body {
                body[field] = serde_json::json!(existing);
            }
            self.check_target(op, &only_existing).await?;
        }
        let mut targets = Vec::new();
        for (id, fetch) in ids.into_iter().zip(fetch) {
            let get = kind.get.map(|g| g.replace("{id}", &id));
            let before = match (&get, fetch) {
                (Some(path), true) => Some(self.fetch_before(op, path.clone()).await?),
                _ => None,
            };
            let target = crate::plan::PlannedTarget {
                kind: kind.name.to_owned(),
                id,
                get,
            };
            targets.push((target, before));
        }
        self.spend_call()?;
        let bytes_out = match &mut self.plan {
            Some(plan) => plan.charge(&req).map_err(super::invalid)?,
            None => unreachable!("only called in a plan run"),
        };
        let write = crate::plan::WriteOp {
            interface: op.interface_name(),
            function: op.function,
            target: None,
        };
        let company = self.company_id.clone();
        let Some(plan) = &mut self.plan else {
            unreachable!("only called in a plan run")
        };
        let answer = plan.record_bulk(
            &write,
            &company,
            &req,
            targets,
            matches!(op.answer, Want::Nothing),
        );
        let plan_id = Some(plan.plan_id.clone());
        self.record(Call {
            interface: op.interface_name(),
            function: op.function,
            scope: Some(op.scope()),
            http: Some((op.method.as_str(), op.template)),
            bytes_out,
            outcome: "planned",
            plan_id,
            ..Call::default()
        });
        planned_answer(answer)
    }

    /// The current state of the object a planned write acts on: one `GET`, counted and audited.
    async fn fetch_before(&mut self, op: &'static Op, path: String) -> Result<Value, HostError> {
        self.spend_call()?;
        let started = Instant::now();
        let Fetched { reply, retries } =
            read_ahead::fetch(&self.client, &ApiRequest::get(path)).await;
        let object = reply.and_then(|reply| pleo::decode_object(&reply.body));
        self.totals.api_calls += 1;
        let mut call = Call {
            interface: op.interface_name(),
            function: op.function,
            scope: Some(op.scope()),
            http: Some(("GET", op.template)),
            latency: started.elapsed(),
            retries,
            outcome: "plan-before",
            ..Call::default()
        };
        match object {
            Ok(text) => {
                call.status = Some(200);
                call.bytes_in = text.len() as u64;
                self.record(call);
                serde_json::from_str(&text).map_err(|e| {
                    HostError::Guest(PleoError::Unavailable(format!("unexpected answer: {e}")))
                })
            }
            Err(e) => {
                if let ApiError::Status { status, .. } = &e {
                    call.status = Some(*status);
                }
                let err = self.api_error(e);
                self.record(call);
                Err(err)
            }
        }
    }
}

/// The object a plan shows for a write: its target, or the object nested in it
/// ([`table::nested`]).
struct Shown {
    kind: &'static str,
    /// The filled `GET` path of the object (no `{id}` left).
    get: Option<String>,
    /// Unique per object in the plan: a nested object's is `parent/own`, as a tag's value for
    /// a dimension is named by both.
    id: String,
    nested: bool,
}

fn shown_object(
    op: &Op,
    req: &ApiRequest,
    target: Option<&(&'static ownership::Kind, String)>,
) -> Option<Shown> {
    let (kind, parent) = target?;
    if let Some(nested) = table::nested(op)
        && let Some(own) =
            ownership::target_id(op.template, &req.path, None, &IdAt::Path(nested.id))
    {
        return Some(Shown {
            kind: nested.kind.name,
            get: Some(req.path.clone()),
            id: format!("{parent}/{own}"),
            nested: true,
        });
    }
    Some(Shown {
        kind: kind.name,
        get: kind.get.map(|g| g.replace("{id}", parent)),
        id: parent.clone(),
        nested: false,
    })
}

/// The object a successful write created or changed: its target, else the `id` of the object
/// it answered with.
pub(super) fn written_object(op: &Op, req: &ApiRequest, answer: &Answer) -> Option<String> {
    if !op.function.starts_with("create-")
        && let Some(target) = &op.target
        && let Some(id) =
            ownership::target_id(op.template, &req.path, req.body.as_ref(), &target.id)
    {
        return Some(id);
    }
    match answer {
        Answer::Text(text) => serde_json::from_str::<Value>(text)
            .ok()?
            .get("id")?
            .as_str()
            .map(str::to_owned),
        _ => None,
    }
}

/// What the plugin gets for a planned call.
fn planned_answer(planned: crate::plan::Planned) -> Result<Answer, HostError> {
    use crate::plan::Planned;
    match planned {
        Planned::Text(text) => Ok(Answer::Text(text)),
        Planned::EmptyPage => Ok(Answer::Page(crate::pleo::Page {
            data: "[]".into(),
            next_cursor: None,
            prev_cursor: None,
            total: Some(0),
        })),
        Planned::Nothing => Ok(Answer::Nothing),
        Planned::NotFound => Err(HostError::Guest(PleoError::NotFound(
            "NOT_FOUND: the object is planned, not created yet".into(),
        ))),
    }
}
