//! Cluster mode: several usher nodes on one PostgreSQL database and one NATS
//! bus (see `usher_testkit::cluster`). Nodes run in this process, each with
//! its own listener, session cache, live connections and bus connection,
//! sharing nothing but the database and NATS, as separate machines would;
//! `load_balancer` puts Debian's nginx in front of them.

mod admission;
mod keys;
mod load_balancer;
mod nats_outage;
mod partition;
mod profiles;
mod revocation;
