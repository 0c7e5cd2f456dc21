//! The in-process bus of a single node.

use async_trait::async_trait;
use tokio::sync::broadcast;

use super::{Event, EventBus, Subscription};

pub struct LocalBus {
    tx: broadcast::Sender<Event>,
}

impl LocalBus {
    pub fn new() -> Self {
        // Deep enough that a burst of sign-out-all on large accounts does not
        // lag the dispatcher; a lag is still handled by catching up from the store.
        let (tx, _) = broadcast::channel(16 * 1024);
        Self { tx }
    }
}

impl Default for LocalBus {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl EventBus for LocalBus {
    async fn publish(&self, event: Event) -> anyhow::Result<()> {
        // No subscriber is not an error: nothing needs telling.
        let _ = self.tx.send(event);
        Ok(())
    }

    fn subscribe(&self) -> Subscription {
        self.tx.subscribe()
    }

    async fn ready(&self) -> bool {
        true
    }

    fn describe(&self) -> String {
        "in-process event bus".into()
    }
}
