//! The in-process bus of a single node.

use async_trait::async_trait;
use tokio::sync::broadcast;

use super::{Envelope, Event, EventBus, Stamper, Subscription};

pub struct LocalBus {
    tx: broadcast::Sender<Envelope>,
    stamper: Stamper,
}

impl LocalBus {
    pub fn new(stamper: Stamper) -> Self {
        // Deep enough that a burst of sign-out-all on large accounts does not
        // lag the dispatcher; a lag is still handled by catching up from the store.
        let (tx, _) = broadcast::channel(16 * 1024);
        Self { tx, stamper }
    }
}

#[async_trait]
impl EventBus for LocalBus {
    async fn publish(&self, event: Event) -> anyhow::Result<()> {
        self.stamper
            .send(event, |envelope| async move {
                // No subscriber is not an error: nothing needs telling.
                let _ = self.tx.send(envelope);
                Ok(())
            })
            .await
    }

    fn subscribe(&self) -> Subscription {
        self.tx.subscribe()
    }

    async fn ready(&self) -> bool {
        true
    }

    fn proves_freshness(&self) -> bool {
        false
    }

    fn describe(&self) -> String {
        "in-process event bus".into()
    }
}
