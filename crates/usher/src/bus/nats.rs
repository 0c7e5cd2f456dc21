//! The cluster bus: events travel over one NATS subject to every node.
//!
//! Core NATS is at-most-once: a node that is disconnected, restarting or too
//! slow misses messages. That is acceptable because nothing depends on the
//! bus alone: revocations are also in the store's ordered log, which every
//! node reads periodically (see `live::dispatch`). The bus only makes the
//! common case immediate.

use async_nats::connection::State;
use async_trait::async_trait;
use futures_util::StreamExt;
use tokio::sync::broadcast;

use super::{Envelope, Event, EventBus, Stamper, Subscription};

pub struct NatsBus {
    client: async_nats::Client,
    subject: String,
    local: broadcast::Sender<Envelope>,
    stamper: Stamper,
    description: String,
}

impl NatsBus {
    /// Connects (retrying in the background if NATS is not up yet) and
    /// starts relaying the subject's messages to local subscribers.
    pub async fn connect(url: &str, subject: &str, stamper: Stamper) -> anyhow::Result<Self> {
        let client = async_nats::ConnectOptions::new()
            .name("usher")
            .retry_on_initial_connect()
            .event_callback(|event| async move {
                tracing::info!(%event, "NATS connection event");
            })
            .connect(url)
            .await?;
        let mut messages = client.subscribe(subject.to_owned()).await?;
        let (local, _) = broadcast::channel(16 * 1024);
        let relay = local.clone();
        tokio::spawn(async move {
            while let Some(message) = messages.next().await {
                match serde_json::from_slice::<Envelope>(&message.payload) {
                    Ok(envelope) => {
                        let _ = relay.send(envelope);
                    }
                    Err(e) => tracing::warn!(error = %e, "ignoring an undecodable bus message"),
                }
            }
        });
        Ok(Self {
            client,
            subject: subject.to_owned(),
            local,
            stamper,
            description: format!("NATS {} subject {subject}", redact(url)),
        })
    }
}

/// The server list without credentials, for logs.
fn redact(url: &str) -> String {
    match url.rsplit_once('@') {
        Some((_, host)) => format!("nats://***@{host}"),
        None => url.to_owned(),
    }
}

#[async_trait]
impl EventBus for NatsBus {
    async fn publish(&self, event: Event) -> anyhow::Result<()> {
        self.stamper
            .send(event, |envelope| async move {
                let payload = serde_json::to_vec(&envelope)?;
                self.client
                    .publish(self.subject.clone(), payload.into())
                    .await?;
                Ok(())
            })
            .await
    }

    fn subscribe(&self) -> Subscription {
        self.local.subscribe()
    }

    async fn ready(&self) -> bool {
        self.client.connection_state() == State::Connected
    }

    fn proves_freshness(&self) -> bool {
        true
    }

    async fn flush(&self) {
        if let Err(e) = self.client.flush().await {
            tracing::debug!(error = %e, "could not flush the NATS connection");
        }
    }

    fn describe(&self) -> String {
        self.description.clone()
    }
}
