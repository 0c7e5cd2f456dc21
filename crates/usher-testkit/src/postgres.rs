//! Fresh PostgreSQL schemas for tests. The test command (`scripts/test.sh`)
//! creates one database per run, names it in `USHER_TEST_POSTGRES_URL` and
//! drops it afterwards; each test gets its own schema inside it, so tests
//! never see each other's rows and nothing outlives the run.

use sqlx::{Connection, Executor};

/// The per-run database, as the test command provides it.
pub fn postgres_url() -> String {
    std::env::var("USHER_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!("USHER_TEST_POSTGRES_URL is not set: run the tests with ./scripts/test.sh, which provides PostgreSQL")
    })
}

/// Creates an empty schema and returns a URL whose connections use it.
pub async fn fresh_postgres_schema() -> String {
    let base = postgres_url();
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&base)
        .await
        .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL at {base}: {e}"));
    conn.execute(format!("CREATE SCHEMA {schema}").as_str())
        .await
        .expect("create the test schema");
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}options=-c%20search_path%3D{schema}")
}
