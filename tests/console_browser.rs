//! The case loop in a real headless Chromium (Debian's chromium, driven by its chromedriver over
//! WebDriver) against `indmon serve` on loopback with mail to the loopback SMTP server, in one
//! run, one screen per step:
//! - 东城区 asks for a link, opens it from the mail, presses 确认登录 and lands on 我的待办 with
//!   the hostile enterprise name shown as text; a reload keeps the session, 退出 ends it;
//! - 李副市长 signs in the same way and answers the 南湖 case through its form, the markup typed
//!   shown as text;
//! - downloads their 反馈表 with the browser's session, fills the row of their other case (a
//!   `=HYPERLINK(` and a `<script>` in 情况说明) as Excel would save it, and uploads it through
//!   the page's file input: the page lists the row as applied, the case is answered, and its
//!   page shows the typed text literally, inert;
//! - 申请销号 on the 南湖 case through its form;
//! - 退出; 王局长 (the city) signs in, opens 待销号, presses 同意销号: the case is closed and its
//!   page says 已销号;
//! - 王局长 sends the 西湖 case back (退回) with a note typed with markup: the case is returned
//!   with a new due date, the note shown as text in its history.
//!
//! On SQLite, and on PostgreSQL too when `INDMON_TEST_POSTGRES_URL` is set.
//!
//! Skipped with a NOTICE where chromium or chromedriver is not installed (`.ci/run` installs
//! both).

#[path = "common/browser.rs"]
mod browser;
mod common;
#[path = "common/console.rs"]
mod console_support;

use std::path::Path;

use common::TestDb;
use common::mail::{EVIL, NANHU, apply, finding, open, seed};
use common::smtp::SmtpServer;
use console_support::{Serve, config, free_port};
use fantoccini::{Client, Locator};
use indmon::cases::CaseState;
use indmon::feedback::workbook::{Col, SHEET, index};
use indmon::rules::Severity;
use indmon::store::Store;

use browser::{
    Driver, click_id, cookie_header, has_script, sign_in, sign_out, type_into, wait_text,
};

/// What the browser types in 情况说明.
const TYPED: &str = "订单减少<script>alert(3)</script>停产";
/// What the official types in 情况说明 of the 反馈表: a formula and markup, both to stay text.
const FILLED: &str = "=HYPERLINK(\"http://x\",\"y\")<script>alert(4)</script>设备检修";
/// 李副市长's second case, an enterprise of 西城区 (so 东城区's 待办 stays as it was).
const XIHU: &str = "913307826601234567";

/// The case's state as stored.
async fn state(store: &Store, id: i64) -> CaseState {
    store.case(id).await.expect("case").expect("exists").state
}

#[tokio::test]
async fn an_official_runs_the_case_loop_in_headless_chromium() {
    if !browser::installed() {
        eprintln!("NOTICE: chromium or chromedriver not installed; browser test skipped");
        return;
    }
    for db in TestDb::all().await {
        run_the_loop(&db).await;
        db.cleanup().await;
    }
}

/// The loop on one backend, every step in one browser session.
async fn run_the_loop(db: &TestDb) {
    common::registry(&db.store).await;
    seed(&db.store).await;
    let second = finding(
        "enterprise_stalled",
        XIHU,
        "西湖纺织有限公司",
        "330782",
        Some("li"),
        Severity::Red,
        2,
    );
    apply(&db.store, vec![open(second)], common::now()).await;
    let opened = console_support::open_cases(&db.store).await;
    let id_of = |subject: &str| {
        opened
            .iter()
            .find(|c| c.subject == subject)
            .expect(subject)
            .id
    };
    let (nanhu, xihu) = (id_of(NANHU), id_of(XIHU));
    let smtp = SmtpServer::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let serve = Serve::start(dir.path(), &db.url, &config(smtp.port, port, ""), port).await;
    let driver = Driver::start().await;
    let b = driver.session().await;

    first_sign_in(&b, &serve, &smtp).await;
    sign_in(&b, &serve, &smtp, "li@example.cn").await;
    answer_in_the_form(&b, &serve, &db.store, nanhu).await;
    upload_the_workbook(&b, &serve, &db.store, dir.path(), xihu).await;
    request_closing(&b, &serve, &db.store, nanhu).await;
    sign_out(&b).await;
    sign_in(&b, &serve, &smtp, "city@gxj.example.cn").await;
    approve_as_the_city(&b, &serve, &db.store, nanhu).await;
    return_as_the_city(&b, &serve, &db.store, xihu).await;

    b.close().await.expect("close");
    drop(driver);
    drop(serve);
}

/// 东城区 from a page without a session: the sign-in form, the mailed link, 确认登录, 我的待办
/// with the hostile name as text; a reload keeps the session, 退出 ends it.
async fn first_sign_in(b: &Client, serve: &Serve, smtp: &SmtpServer) {
    b.goto(&serve.url("/todo")).await.expect("goto");
    type_into(b, "input[name=email]", "dc@example.cn").await;
    b.find(Locator::Css("button[type=submit]"))
        .await
        .expect("button")
        .click()
        .await
        .expect("click");
    // The form's own page has an <h1> too: wait for the answer's, not whichever is there
    // (the old one goes stale when the answer arrives).
    let h1 = wait_text(b, "h1", "请查收邮件").await;
    assert_eq!(h1.text().await.expect("text"), "请查收邮件");

    // The link from the mail opens the confirmation; its button signs in.
    let link = console_support::link_in_mail(smtp, "dc@example.cn", 0).await;
    b.goto(&link).await.expect("open link");
    click_id(b, "confirm").await;
    browser::wait_url(b, &serve.url("/todo")).await;
    let h1 = b.find(Locator::Css("h1")).await.expect("h1");
    assert!(h1.text().await.expect("text").starts_with("我的待办"));

    // The hostile name is text on the page, not a script that ran.
    let first = b.find(Locator::Css(".card a")).await.expect("an item");
    assert_eq!(first.text().await.expect("text"), EVIL);
    assert!(!has_script(b).await, "no script element on the page");

    // Reloading keeps the session (the cookie was stored); signing out ends it.
    b.refresh().await.expect("reload");
    sign_out(b).await;
    b.goto(&serve.url("/todo")).await.expect("goto");
    assert!(b.find(Locator::Css("input[name=email]")).await.is_ok());
}

/// 李副市长 answers the 南湖 case through its form, with markup typed in 情况说明.
async fn answer_in_the_form(b: &Client, serve: &Serve, store: &Store, nanhu: i64) {
    b.goto(&serve.url(&format!("/cases/{nanhu}")))
        .await
        .expect("goto");
    b.find(Locator::Css("select[name=cause]"))
        .await
        .expect("cause")
        .select_by_value("资金紧张")
        .await
        .expect("select");
    type_into(b, "textarea[name=situation]", TYPED).await;
    type_into(b, "textarea[name=measures]", "协调银行续贷").await;
    type_into(b, "input[name=resume_month]", "2027-01").await;
    click_id(b, "submit-answer").await;
    wait_text(b, "p", "反馈已提交。").await;
    let shown = b.find(Locator::Css(".card .text")).await.expect("情况说明");
    assert_eq!(
        shown.text().await.expect("text"),
        format!("情况说明：{TYPED}")
    );
    assert!(!has_script(b).await, "the typed markup is text");
    assert_eq!(state(store, nanhu).await, CaseState::Answered);
}

/// 李副市长 downloads their 反馈表 with the browser's session, fills the row of the 西湖 case and
/// uploads the file through the page's file input; the page lists the row as applied, and the
/// case page shows the formula and the markup as text.
async fn upload_the_workbook(b: &Client, serve: &Serve, store: &Store, dir: &Path, xihu: i64) {
    let r = reqwest::Client::new()
        .get(serve.url("/cases/workbook"))
        .header("cookie", cookie_header(b).await)
        .send()
        .await
        .expect("download");
    assert_eq!(r.status().as_u16(), 200);
    let book = r.bytes().await.expect("workbook").to_vec();
    let rows = cells(&book);
    let listed: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert!(listed.contains(&xihu.to_string().as_str()), "{listed:?}");

    let file = dir.join("李副市长反馈表.xlsx");
    std::fs::write(&file, filled(&book, xihu)).expect("write the filled workbook");
    b.goto(&serve.url("/cases/upload")).await.expect("goto");
    b.find(Locator::Css("input[type=file]"))
        .await
        .expect("file input")
        .send_keys(&file.display().to_string())
        .await
        .expect("choose the file");
    click_id(b, "upload").await;
    wait_text(b, "h2", "已采纳").await;
    let summary = b.find(Locator::Css("main .card p")).await.expect("summary");
    let summary = summary.text().await.expect("text");
    assert!(summary.starts_with("李副市长反馈表.xlsx"), "{summary}");
    assert!(
        summary.contains("采纳 1 行") && summary.contains("拒收 0 行"),
        "{summary}"
    );
    let row = b
        .find(Locator::Css("#accepted tr:nth-child(2) td:nth-child(2)"))
        .await
        .expect("the applied row");
    assert_eq!(row.text().await.expect("text"), xihu.to_string());
    assert_eq!(state(store, xihu).await, CaseState::Answered);

    b.goto(&serve.url(&format!("/cases/{xihu}")))
        .await
        .expect("goto");
    let shown = b.find(Locator::Css(".card .text")).await.expect("情况说明");
    assert_eq!(
        shown.text().await.expect("text"),
        format!("情况说明：{FILLED}")
    );
    let via = b.find(Locator::Css("h2 + .card .muted")).await.expect("by");
    assert!(via.text().await.expect("text").contains("反馈表上传"));
    assert!(!has_script(b).await, "the workbook's markup is text");
    let links = b
        .find_all(Locator::Css("a[href^='http://x']"))
        .await
        .expect("links");
    assert!(links.is_empty(), "the formula is no link");
}

/// 李副市长 asks to close the answered 南湖 case through its form.
async fn request_closing(b: &Client, serve: &Serve, store: &Store, nanhu: i64) {
    b.goto(&serve.url(&format!("/cases/{nanhu}")))
        .await
        .expect("goto");
    type_into(b, "textarea[name=note]", "已续贷，恢复生产").await;
    click_id(b, "request-close").await;
    wait_text(b, "p", "已申请销号，等待市工信局审核。").await;
    assert_eq!(state(store, nanhu).await, CaseState::CloseRequested);
}

/// 王局长 finds the request on 待销号 and presses 同意销号: the case is closed.
async fn approve_as_the_city(b: &Client, serve: &Serve, store: &Store, nanhu: i64) {
    b.goto(&serve.url("/city/requests")).await.expect("goto");
    let h1 = b.find(Locator::Css("h1")).await.expect("h1");
    assert!(h1.text().await.expect("text").starts_with("待销号"));
    let shown = b.find(Locator::Css(".card .text")).await.expect("情况说明");
    assert_eq!(
        shown.text().await.expect("text"),
        format!("情况说明：{TYPED}")
    );
    b.find(Locator::Css(&format!(
        "form[action='/cases/{nanhu}/approve'] button"
    )))
    .await
    .expect("同意销号")
    .click()
    .await
    .expect("click");
    wait_text(b, "p", "已销号。").await;
    let h1 = b.find(Locator::Css("h1 .muted")).await.expect("h1");
    assert_eq!(
        h1.text().await.expect("text"),
        format!("第{nanhu}号 · 已销号")
    );
    assert_eq!(state(store, nanhu).await, CaseState::Closed);
    b.goto(&serve.url("/city/requests")).await.expect("goto");
    wait_text(b, "p", "没有等待销号的事项。").await;
}

/// What the city types when it sends an answer back: markup to stay text.
const RETURNED: &str = "请补充复产时间<script>alert(5)</script>";

/// 王局长 opens the 西湖 case answered through the 反馈表 and presses 退回 with a note: the
/// case is returned with a new due date, and its history shows the note as text.
async fn return_as_the_city(b: &Client, serve: &Serve, store: &Store, xihu: i64) {
    b.goto(&serve.url(&format!("/cases/{xihu}")))
        .await
        .expect("goto");
    type_into(b, "form[action$='/return'] textarea[name=note]", RETURNED).await;
    click_id(b, "return-case").await;
    wait_text(b, "p", "已退回责任人重新反馈。").await;
    let case = store.case(xihu).await.expect("case").expect("exists");
    assert_eq!(case.state, CaseState::Returned);
    assert!(case.due_at.is_some(), "a new due date");
    let rows = b.find_all(Locator::Css("table tr")).await.expect("history");
    let mut shown = Vec::new();
    for r in rows {
        shown.push(r.text().await.expect("text"));
    }
    assert!(
        shown
            .iter()
            .any(|r| r.contains("退回") && r.contains(RETURNED)),
        "the note in the history: {shown:?}"
    );
    assert!(!has_script(b).await, "the note's markup is text");
}

/// The cells of sheet 反馈表 as text.
fn cells(book: &[u8]) -> Vec<Vec<String>> {
    common::xlsx::first_sheet_cells(book, SHEET)
}

/// `book` as an official saves it from Excel after typing an answer ([`FILLED`] in 情况说明)
/// into the row of `case`: every cell as read, the case and version columns as numbers.
fn filled(book: &[u8], case: i64) -> Vec<u8> {
    let mut rows = cells(book);
    let head = rows
        .iter()
        .position(|r| r[0] == "事项编号")
        .expect("the heading row");
    let row = rows
        .iter_mut()
        .skip(head + 1)
        .find(|r| r[0] == case.to_string())
        .expect("the case's row");
    for (col, v) in [
        (Col::Cause, "设备检修或技改"),
        (Col::Situation, FILLED),
        (Col::Measures, "协调电力增容"),
        (Col::ResumeMonth, "2027-02"),
    ] {
        row[index(col) as usize] = v.to_string();
    }
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet().set_name(SHEET).expect("sheet");
    for (i, r) in rows.iter().enumerate() {
        for (j, v) in r.iter().enumerate() {
            let (i, j) = (i as u32, j as u16);
            match v.parse::<f64>() {
                Ok(n) if i as usize > head && j < 2 => ws.write_number(i, j, n),
                _ if v.is_empty() => continue,
                _ => ws.write_string(i, j, v),
            }
            .expect("write");
        }
    }
    wb.save_to_buffer().expect("save")
}
