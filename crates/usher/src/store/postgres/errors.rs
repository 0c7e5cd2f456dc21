//! What a PostgreSQL failure means to the domain, so every statement ends in
//! `?`.

use sqlx::error::ErrorKind;

use crate::store::StoreError;

impl From<sqlx::Error> for StoreError {
    /// Classified, and counted in `usher_database_errors_total`.
    fn from(e: sqlx::Error) -> Self {
        uncounted(e).counted()
    }
}

/// Classified but not counted: for the queries made for the metrics.
pub(super) fn uncounted(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.kind() == ErrorKind::UniqueViolation => {
            StoreError::Conflict
        }
        sqlx::Error::Database(db) if db.code().is_some_and(|c| is_unavailable_state(&c)) => {
            StoreError::Unavailable(e.into())
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e.into()),
        _ => StoreError::Other(e.into()),
    }
}

/// SQLSTATEs meaning "the server is going away, overloaded or not there
/// yet": connection exceptions (08…), insufficient resources (53…, such as
/// too many connections) and operator intervention by shutdown or start-up
/// (57P…). A caller may retry these; anything else is a bug or bad data.
fn is_unavailable_state(code: &str) -> bool {
    code.starts_with("08") || code.starts_with("53") || code.starts_with("57P")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_loss_shutdown_and_overload_are_unavailable() {
        for code in ["08006", "08001", "53300", "57P01", "57P03"] {
            assert!(is_unavailable_state(code), "{code}");
        }
    }

    #[test]
    fn data_and_query_errors_are_not() {
        for code in ["23505", "23503", "42P01", "40001", "57014"] {
            assert!(!is_unavailable_state(code), "{code}");
        }
    }

    #[test]
    fn a_pool_timeout_is_unavailable() {
        assert!(matches!(
            StoreError::from(sqlx::Error::PoolTimedOut),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            StoreError::from(sqlx::Error::RowNotFound),
            StoreError::Other(_)
        ));
    }
}
