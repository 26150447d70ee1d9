//! The console's templates: compiled into the binary, named `*.html` so that minijinja escapes
//! every value (an enterprise name such as `<script>…` shows as text), all extending one layout
//! with a small inline style and the viewport for phones.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::Environment;
use serde::Serialize;

const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("templates/layout.html")),
    ("signin.html", include_str!("templates/signin.html")),
    ("sent.html", include_str!("templates/sent.html")),
    ("confirm.html", include_str!("templates/confirm.html")),
    ("message.html", include_str!("templates/message.html")),
    ("todo.html", include_str!("templates/todo.html")),
    ("alert.html", include_str!("templates/alert.html")),
    ("city.html", include_str!("templates/city.html")),
    ("case_card.html", include_str!("templates/case_card.html")),
    ("case.html", include_str!("templates/case.html")),
    ("cases.html", include_str!("templates/cases.html")),
    ("requests.html", include_str!("templates/requests.html")),
    ("audit.html", include_str!("templates/audit.html")),
    ("snapshots.html", include_str!("templates/snapshots.html")),
    ("upload.html", include_str!("templates/upload.html")),
];

/// The compiled templates.
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    pub fn new() -> anyhow::Result<Templates> {
        let mut env = Environment::new();
        for (name, text) in TEMPLATES {
            env.add_template(name, text)
                .map_err(|e| anyhow::anyhow!("控制台模板 {name} 有误 (bad template): {e}"))?;
        }
        Ok(Templates { env })
    }

    /// Renders `name` with `ctx` as an HTML answer with `status`; a template error answers 500
    /// and is logged (it is a bug, not the official's doing).
    pub fn page<S: Serialize>(&self, status: StatusCode, name: &str, ctx: S) -> Response {
        let rendered = self.env.get_template(name).and_then(|t| t.render(ctx));
        match rendered {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(template = name, error = %e, "控制台页面渲染失败 (console page failed to render)");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Html("<!doctype html><meta charset=utf-8><p>页面出错，请稍后再试。</p>"),
                )
                    .into_response()
            }
        }
    }

    /// A page with a title and one message (errors, refusals, notices).
    pub fn message(&self, status: StatusCode, title: &str, text: &str) -> Response {
        self.page(
            status,
            "message.html",
            minijinja::context! { title => title, text => text, code => status.as_u16() },
        )
    }
}
