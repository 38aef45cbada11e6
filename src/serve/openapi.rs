//! The API's one description: every endpoint with what it takes and
//! answers, from which the OpenAPI 3.1 document is built
//! (`GET /v1/openapi.json`) and the metrics name their routes. A test asks
//! the live service for every path here and checks its answers against
//! the schemas.

use serde_json::{Value, json};

pub struct Endpoint {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    /// The request body's schema, in `components.schemas`.
    pub request: Option<&'static str>,
    /// The answer's schema (200), in `components.schemas`; `None` for
    /// one that is not JSON.
    pub answer: Option<&'static str>,
}

const fn endpoint(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    request: Option<&'static str>,
    answer: Option<&'static str>,
) -> Endpoint {
    Endpoint {
        method,
        path,
        summary,
        request,
        answer,
    }
}

pub const ENDPOINTS: &[Endpoint] = &[
    endpoint(
        "get",
        "/v1/health",
        "Whether the service is up.",
        None,
        Some("Health"),
    ),
    endpoint(
        "get",
        "/v1/program",
        "The program's name and source.",
        None,
        Some("Program"),
    ),
    endpoint(
        "get",
        "/v1/openapi.json",
        "This document.",
        None,
        Some("Document"),
    ),
    endpoint(
        "get",
        "/metrics",
        "Prometheus metrics (text): requests by endpoint and status, their latencies, events \
         by outcome, effects by kind, members, webhooks' backlogs.",
        None,
        None,
    ),
    endpoint(
        "post",
        "/v1/events",
        "Applies one event (an object, answered as an EventAnswer; 422 when rejected, 409 on a \
         conflict) or several (an array, answered as Results); each answer comes once the \
         events are committed.",
        Some("EventOrEvents"),
        Some("EventAnswerOrResults"),
    ),
    endpoint(
        "post",
        "/v1/quote",
        "What a purchase would earn, which discounts and held rewards it would use, and the \
         tier progress after it, changing nothing: a purchase event without `id` or `type`, by \
         a `member` or, without one, by someone who joins with it.",
        Some("Purchase"),
        Some("Quote"),
    ),
    endpoint(
        "get",
        "/v1/members/{id}",
        "What `loyalty member --json` shows of the member.",
        None,
        Some("Member"),
    ),
    endpoint(
        "delete",
        "/v1/members/{id}",
        "Erases the member's personal data: their id becomes a pseudonym (`erased_as`) \
         everywhere the ledger holds it, their birthday and attributes are dropped; balances, \
         entries and totals stay, so the books still balance.",
        None,
        Some("Erased"),
    ),
    endpoint(
        "get",
        "/v1/webhooks",
        "Each webhook and where its deliveries stand: backlog, delivered, the attempts at the \
         one waiting, whether its receiver keeps failing, and the last error.",
        None,
        Some("Webhooks"),
    ),
    endpoint(
        "get",
        "/v1/members/{id}/entries",
        "The member's ledger entries with their reasons, newest first, a page at a time: \
         `limit` (1 to 1000, 50 unless given) and `after` (the `next_after` of the page before).",
        None,
        Some("EntriesPage"),
    ),
];

/// The schemas the endpoints name.
fn schemas() -> Value {
    let object = |required: &[&str], properties: Value| json!({ "type": "object", "required": required, "properties": properties });
    let text = json!({ "type": "string" });
    let integer = json!({ "type": "integer" });
    let money = json!({ "type": "string", "description": "an amount, `12.50`" });
    let nullable_text = json!({ "type": ["string", "null"] });
    let effect = object(
        &[
            "at",
            "kind",
            "points",
            "reward_money",
            "value",
            "scheduled",
            "reason",
        ],
        json!({
            "member": text, "at": text, "kind": text, "points": integer,
            "reward_money": money, "value": money, "scheduled": { "type": "boolean" },
            "reason": text,
        }),
    );
    let effects = json!({ "type": "array", "items": { "$ref": "#/components/schemas/Effect" } });
    let event_answer = object(
        &["id", "outcome", "effects"],
        json!({
            "id": nullable_text,
            "outcome": { "enum": ["applied", "rejected", "conflict"] },
            "effects": effects,
            "reason": nullable_text,
            "duplicate": { "type": "boolean" },
        }),
    );
    let event = json!({
        "type": "object",
        "description": "an event in the README's format (`id`, `type`, `member`, `at`, ...)",
        "required": ["id", "type"],
    });
    json!({
        "Problem": object(&["title", "status", "detail"], json!({
            "title": text, "status": integer, "detail": text,
        })),
        "Health": object(&["status"], json!({ "status": { "const": "ok" } })),
        "Program": object(&["name", "source"], json!({ "name": text, "source": text })),
        "Document": object(&["openapi", "paths"], json!({})),
        "Effect": effect,
        "Event": event,
        "EventOrEvents": { "oneOf": [
            { "$ref": "#/components/schemas/Event" },
            { "type": "array", "maxItems": super::MAX_EVENTS_PER_REQUEST,
              "items": { "$ref": "#/components/schemas/Event" } },
        ]},
        "EventAnswer": event_answer,
        "EventAnswerOrResults": { "oneOf": [
            { "$ref": "#/components/schemas/EventAnswer" },
            object(&["results"], json!({ "results": {
                "type": "array", "items": { "$ref": "#/components/schemas/EventAnswer" },
            }})),
        ]},
        "Purchase": {
            "type": "object",
            "description": "a purchase event without `id` and `type`: `member` (or none), \
                            `amount` or `items`, `at` and the rest",
        },
        "TierProgress": object(&["tier", "measure", "needed", "so_far", "to_go", "reached"], json!({
            "tier": text, "measure": text, "needed": {}, "so_far": {}, "to_go": {},
            "reached": { "type": "boolean" },
        })),
        "Quote": object(
            &["member", "at", "points", "reward_money", "discount", "rewards_used", "effects",
              "tier", "tier_progress"],
            json!({
                "member": nullable_text, "at": text, "points": integer,
                "reward_money": money, "discount": money, "rewards_used": money,
                "effects": effects, "tier": nullable_text,
                "tier_progress": { "type": "array",
                                   "items": { "$ref": "#/components/schemas/TierProgress" } },
            }),
        ),
        "Member": object(
            &["member", "enrolled", "as_of", "points", "reward_money", "tier", "tier_progress",
              "totals"],
            json!({ "member": text, "points": integer, "tier": nullable_text }),
        ),
        "Erased": object(&["member", "erased_as"], json!({ "member": text, "erased_as": text })),
        "Webhooks": object(&["webhooks"], json!({ "webhooks": { "type": "array", "items":
            object(
                &["name", "url", "kinds", "backlog", "delivered", "attempts", "failing",
                  "last_error"],
                json!({ "name": text, "url": text, "backlog": integer, "delivered": integer,
                        "attempts": integer, "failing": { "type": "boolean" },
                        "last_error": nullable_text }),
            ),
        }})),
        "EntriesPage": object(&["member", "entries", "next_after"], json!({
            "member": text,
            "entries": { "type": "array", "items": {
                "allOf": [{ "$ref": "#/components/schemas/Effect" },
                          object(&["seq", "event"], json!({ "seq": integer, "event": text }))],
            }},
            "next_after": { "type": ["integer", "null"] },
        })),
    })
}

/// The OpenAPI 3.1 document of the API, from [`ENDPOINTS`].
pub fn openapi() -> Value {
    let reference = |name: &str| json!({ "$ref": format!("#/components/schemas/{name}") });
    let mut paths = serde_json::Map::new();
    for endpoint in ENDPOINTS {
        let answer = match endpoint.answer {
            Some(name) => json!({ "application/json": { "schema": reference(name) } }),
            None => json!({ "text/plain": {} }),
        };
        let mut operation = json!({
            "summary": endpoint.summary,
            "responses": {
                "200": { "description": "done", "content": answer },
                "default": {
                    "description": "a problem: `title`, `status` and `detail`",
                    "content": { "application/problem+json": { "schema": reference("Problem") } }
                }
            }
        });
        if endpoint.path.contains("{id}") {
            operation["parameters"] = json!([{
                "name": "id", "in": "path", "required": true, "schema": { "type": "string" }
            }]);
        }
        if endpoint.path.ends_with("/entries") {
            let page = |name: &str, text: &str| {
                json!({ "name": name, "in": "query", "required": false,
                        "description": text, "schema": { "type": "integer" } })
            };
            if let Some(list) = operation["parameters"].as_array_mut() {
                list.push(page("limit", "entries a page, 1 to 1000 (50)"));
                list.push(page("after", "the `next_after` of the page before"));
            }
        }
        if let Some(name) = endpoint.request {
            operation["requestBody"] = json!({
                "required": true,
                "content": { "application/json": { "schema": reference(name) } }
            });
        }
        let item = paths.entry(endpoint.path).or_insert_with(|| json!({}));
        item[endpoint.method] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": { "title": "loyalty serve", "version": env!("CARGO_PKG_VERSION") },
        "components": {
            "schemas": schemas(),
            "securitySchemes": { "apiKey": { "type": "http", "scheme": "bearer" } },
        },
        "security": [{ "apiKey": [] }],
        "paths": paths,
    })
}
