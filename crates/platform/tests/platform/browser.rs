//! The browser suite: headless Chromium through chromedriver (Debian's `chromium` and
//! `chromium-driver`), run when `ROUNDS_TEST_CHROMEDRIVER` names the chromedriver binary. A user
//! signs in, sees the dashboard, creates a facility and signs out.

use fantoccini::{ClientBuilder, Locator};
use platform::roles::Role;
use platform::testing::{PASSWORD, backends, spawn_app};
use std::process::{Child, Command, Stdio};

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn a_user_signs_in_creates_a_facility_and_signs_out_in_chromium() {
    let Ok(chromedriver) = std::env::var("ROUNDS_TEST_CHROMEDRIVER") else {
        assert!(
            std::env::var("ROUNDS_TEST_REQUIRE_ALL").is_err(),
            "ROUNDS_TEST_REQUIRE_ALL is set but ROUNDS_TEST_CHROMEDRIVER is not: the browser suite would be skipped"
        );
        eprintln!("browser suite skipped: set ROUNDS_TEST_CHROMEDRIVER=/usr/bin/chromedriver");
        return;
    };
    let port = free_port();
    let _driver = Driver(
        Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {chromedriver}: {e}")),
    );
    let app = spawn_app(backends().await.remove(0)).await;
    app.add_user("it.admin", &[Role::Admin]).await;

    let mut caps = serde_json::Map::new();
    let mut chrome = serde_json::json!({
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,900"]
    });
    if let Ok(binary) = std::env::var("ROUNDS_TEST_CHROMIUM") {
        chrome["binary"] = binary.into();
    } else if std::path::Path::new("/usr/bin/chromium").exists() {
        chrome["binary"] = "/usr/bin/chromium".into();
    }
    caps.insert("goog:chromeOptions".into(), chrome);
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let webdriver = format!("http://127.0.0.1:{port}");
    let mut client = None;
    for _ in 0..50 {
        match ClientBuilder::new(connector.clone())
            .capabilities(caps.clone())
            .connect(&webdriver)
            .await
        {
            Ok(c) => {
                client = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    let c = client.expect("chromedriver answers");

    c.goto(&app.url("/")).await.unwrap();
    assert!(
        c.current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with("/signin?next=%2F")
    );
    c.find(Locator::Id("username"))
        .await
        .unwrap()
        .send_keys("it.admin")
        .await
        .unwrap();
    c.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    c.find(Locator::Css("form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The module navigation exists only once signed in: waiting for it (not for any heading,
    // which the sign-in page has too) waits for the dashboard to load.
    c.wait()
        .for_element(Locator::Css("nav[aria-label=Modules]"))
        .await
        .unwrap();
    let heading = c
        .find(Locator::Css("main h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(heading, "Dashboard");

    c.find(Locator::LinkText("Facilities"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Id("name"))
        .await
        .unwrap()
        .send_keys("Lakeside Regional Medical Center")
        .await
        .unwrap();
    c.find(Locator::Id("ccn"))
        .await
        .unwrap()
        .send_keys("050454")
        .await
        .unwrap();
    c.find(Locator::Id("state"))
        .await
        .unwrap()
        .send_keys("CA")
        .await
        .unwrap();
    c.find(Locator::Css("form.card button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let notice = c
        .wait()
        .for_element(Locator::Css("p.notice"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(notice, "Created.");
    let row = c
        .find(Locator::XPath(
            "//table//tr[td/a[text()='Lakeside Regional Medical Center']]",
        ))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(row.contains("050454") && row.contains("CA"), "{row}");

    c.find(Locator::Css("header form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait().for_element(Locator::Id("username")).await.unwrap();
    assert!(c.current_url().await.unwrap().as_str().ends_with("/signin"));
    c.goto(&app.url("/facilities")).await.unwrap();
    assert!(
        c.current_url().await.unwrap().as_str().contains("/signin"),
        "signed out for good"
    );
    c.close().await.unwrap();
}
