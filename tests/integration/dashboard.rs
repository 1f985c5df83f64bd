//! The dashboard (`GET /ui`) in a real browser: headless Chromium driven
//! over WebDriver by `chromedriver`, against a daemon listening on TCP
//! loopback, the page given the daemon's token in its URL fragment. It
//! shows the node's CPUs, a job going from the queue to the recent ends
//! without a reload, a job name with markup in it as text, and leaves a
//! screenshot (copied to `docs/dashboard.png` with `UPDATE_GENERATED=1` or
//! `CONDUCTOR_DASHBOARD_SCREENSHOT=1`). Skipped, saying so, where Chromium
//! or chromedriver is missing (`.ci/run` installs them).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

use crate::support::{TestDaemon, free_port, wait_until};

/// How long the page may take to show a change: it polls every 2 s.
const SHOWN_WITHIN: Duration = Duration::from_secs(20);

/// A program on the PATH, or `None`.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// `chromedriver`, killed when the test ends.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A GET over TCP: the status line and headers, and the body.
fn tcp_get(port: u16, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    let (head, body) = reply.split_once("\r\n\r\n").unwrap_or((&reply, ""));
    (head.to_ascii_lowercase(), body.to_string())
}

#[test]
fn over_tcp_the_page_needs_no_token_but_its_data_does() {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let _d = TestDaemon::start(&["--cpus", "2", "--listen", &listen]);
    for path in ["/", "/ui", "/ui/app.js", "/ui/style.css"] {
        let (head, body) = tcp_get(port, path);
        assert!(head.starts_with("http/1.1 200"), "{path}: {head}");
        assert!(
            head.contains("content-security-policy: default-src 'self'"),
            "{path}: {head}"
        );
        assert!(head.contains("x-content-type-options: nosniff"), "{path}");
        assert!(!body.is_empty(), "{path}");
    }
    for path in ["/v1/ui/activity", "/v1/jobs", "/v1/node"] {
        let (head, _) = tcp_get(port, path);
        assert!(head.starts_with("http/1.1 401"), "{path}: {head}");
    }
}

#[test]
fn the_dashboard_shows_the_node_and_jobs_live_in_chromium() {
    let (Some(chromium), Some(chromedriver)) = (on_path("chromium"), on_path("chromedriver"))
    else {
        eprintln!(
            "skipped: the dashboard test needs chromium and chromedriver \
             (Debian: apt-get install chromium chromium-driver; .ci/run installs them)"
        );
        return;
    };
    let started = Instant::now();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let d = TestDaemon::start(&["--cpus", "4", "--mem", "8G", "--listen", &listen]);
    let token = d.token().expect("the daemon's token");

    let driver_port = free_port();
    let _driver = Driver(
        Command::new(&chromedriver)
            .arg(format!("--port={driver_port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    );
    wait_until(Duration::from_secs(20), "chromedriver listens", || {
        TcpStream::connect(("127.0.0.1", driver_port)).is_ok()
    });

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let shot = runtime.block_on(async {
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1100,900"],
            }),
        );
        let browser = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{driver_port}"))
            .await
            .expect("a Chromium session");
        let shot = drive(&browser, &d, port, &token).await;
        browser.close().await.expect("the session closes");
        shot
    });
    let file = d.dir.path().join("dashboard.png");
    std::fs::write(&file, &shot).expect("the screenshot is written");
    if std::env::var_os("UPDATE_GENERATED").is_some_and(|v| v == "1")
        || std::env::var_os("CONDUCTOR_DASHBOARD_SCREENSHOT").is_some_and(|v| v == "1")
    {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/dashboard.png");
        std::fs::copy(&file, &docs).expect("docs/dashboard.png is written");
    }
    eprintln!("dashboard test took {:?}", started.elapsed());
}

/// Waits (up to [`SHOWN_WITHIN`]) until the page has an element matching
/// the XPath, failing the test with `what` otherwise.
async fn wait_text(browser: &Client, xpath: &str, what: &str) {
    browser
        .wait()
        .at_most(SHOWN_WITHIN)
        .for_element(Locator::XPath(xpath))
        .await
        .unwrap_or_else(|e| panic!("the page should show {what} ({xpath}): {e}"));
}

/// Loads the page and checks what it shows; returns the screenshot.
async fn drive(browser: &Client, d: &TestDaemon, port: u16, token: &str) -> Vec<u8> {
    browser
        .goto(&format!("http://127.0.0.1:{port}/ui#token={token}"))
        .await
        .expect("the page loads");
    wait_text(
        browser,
        "//*[@id='cpus'][text()='0 / 4']",
        "4 CPUs, none in use",
    )
    .await;
    // The token left the address bar for the tab's session storage.
    let url = browser.current_url().await.expect("the url");
    assert!(url.fragment().is_none(), "{url}");

    let name = "<script>document.title='owned'</script><b>x</b>";
    let quick = d.submit(&["-J", name, "-c", "2", "--wrap", "sleep 3"]);
    let row = format!("//table[@id='queue']//tr[@data-job='{quick}']");
    wait_text(
        browser,
        &format!("{row}/td[4][text()='RUNNING']"),
        "the job running in the queue",
    )
    .await;
    wait_text(browser, "//*[@id='cpus'][text()='2 / 4']", "2 CPUs in use").await;
    let cell = browser
        .find(Locator::XPath(&format!("{row}/td[2]")))
        .await
        .expect("the name cell");
    assert_eq!(cell.text().await.expect("its text"), name);
    let injected = browser
        .execute(
            "return document.querySelectorAll('tbody script, tbody b').length",
            vec![],
        )
        .await
        .expect("the script runs");
    assert_eq!(injected, serde_json::json!(0), "a job name became markup");
    assert_eq!(browser.title().await.expect("the title"), "Conductor");

    wait_text(
        browser,
        &format!("//table[@id='recent']//tr[@data-job='{quick}']/td[4][text()='COMPLETED']"),
        "the job among the recent ends",
    )
    .await;
    wait_text(
        browser,
        &format!("//table[@id='recent']//tr[@data-job='{quick}']/td[5][text()='0:0']"),
        "its exit code",
    )
    .await;
    let gone = browser
        .find_all(Locator::XPath(&row))
        .await
        .expect("the queue's rows");
    assert!(gone.is_empty(), "the ended job left the queue");

    // A few jobs in the queue for the screenshot: two running, one waiting
    // for CPUs, one that failed.
    let failed = d.submit(&["-J", "preprocess", "--wrap", "exit 3"]);
    let train = d.submit(&[
        "-J",
        "train-resnet",
        "-c",
        "2",
        "--mem",
        "3G",
        "--wrap",
        "sleep 60",
    ]);
    let eval = d.submit(&["-J", "evaluate", "--wrap", "sleep 60"]);
    let wide = d.submit(&["-J", "sweep-large", "-c", "4", "--wrap", "sleep 60"]);
    wait_text(
        browser,
        &format!("//table[@id='recent']//tr[@data-job='{failed}']/td[4][text()='FAILED']"),
        "the failed job among the recent ends",
    )
    .await;
    for job in [train, eval] {
        wait_text(
            browser,
            &format!("//table[@id='queue']//tr[@data-job='{job}']/td[4][text()='RUNNING']"),
            "a second job running",
        )
        .await;
    }
    wait_text(
        browser,
        &format!("//table[@id='queue']//tr[@data-job='{wide}']/td[4][text()='PENDING']"),
        "a job pending",
    )
    .await;
    wait_text(
        browser,
        &format!("//table[@id='queue']//tr[@data-job='{wide}']/td[5][text()!='']"),
        "the pending job's reason",
    )
    .await;
    wait_text(
        browser,
        "//*[@id='chart']/*[local-name()='rect'][@height!='0.0']",
        "a bar in the chart",
    )
    .await;
    let shot = browser.screenshot().await.expect("a screenshot");
    d.run(
        "ccancel",
        &[&train.to_string(), &eval.to_string(), &wide.to_string()],
    )
    .ok();
    shot
}
