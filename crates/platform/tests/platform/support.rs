//! TEMPORARY stand-in for the shared harness (replaced at merge).
use platform::Db;

pub struct TestDb {
    pub db: Db,
    pub url: String,
    pub name: &'static str,
}

pub async fn backends() -> Vec<TestDb> {
    let dir = std::env::temp_dir().join(format!("rounds-web-{}-{}", std::process::id(), platform::auth::random_token().get(..8).unwrap().to_string()));
    let url = Db::sqlite_url(&dir).unwrap();
    let db = Db::connect(&url).await.unwrap();
    platform::migrate::run(&db, &[platform::migrate::PLATFORM]).await.unwrap();
    vec![TestDb { db, url, name: "sqlite" }]
}
