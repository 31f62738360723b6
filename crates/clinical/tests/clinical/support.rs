//! Throwaway databases with the platform's and the clinical store's migrations, on each backend
//! available (`platform::testing`).

pub use platform::testing::TestDb;

pub async fn backends() -> Vec<TestDb> {
    platform::testing::backends_with(&[platform::migrate::PLATFORM, clinical::MIGRATIONS]).await
}
