//! A connection actor's address, whichever wire protocol this instance speaks. One
//! protocol per proxy process, chosen by `--source-dialect`; the instance's registry and
//! cutover control do not depend on it.

use super::worker::Worker;
use super::ProxyInstance;
use crate::client_conn::ClientConn;
use crate::conn_info::ConnInfo;
use crate::mysql::MySql;
use crate::pg::Pg;
use crate::protocol::ClientKey;
use crate::shared::Shared;
use actix::dev::ToEnvelope;
use actix::prelude::*;
use molt_lms_api::Dialect;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

#[derive(Clone)]
pub(super) enum ConnAddr {
    Pg(Addr<ClientConn<Pg>>),
    MySql(Addr<ClientConn<MySql>>),
}

impl ConnAddr {
    /// Starts the connection actor for `socket` on `worker`.
    pub(super) fn start(
        worker: &Worker,
        socket: std::net::TcpStream,
        shared: Arc<Shared>,
        instance: Addr<ProxyInstance>,
        info: Arc<ConnInfo>,
        key: ClientKey,
    ) -> Self {
        match shared.settings.source_dialect {
            Dialect::Mysql => ConnAddr::MySql(
                worker.start_actor(move |_| ClientConn::new(socket, shared, instance, info, key)),
            ),
            Dialect::Postgres | Dialect::Cockroach => ConnAddr::Pg(
                worker.start_actor(move |_| ClientConn::new(socket, shared, instance, info, key)),
            ),
        }
    }

    pub(super) fn do_send<M>(&self, msg: M)
    where
        M: Message + Send + 'static,
        M::Result: Send,
        ClientConn<Pg>: Handler<M>,
        ClientConn<MySql>: Handler<M>,
        <ClientConn<Pg> as Actor>::Context: ToEnvelope<ClientConn<Pg>, M>,
        <ClientConn<MySql> as Actor>::Context: ToEnvelope<ClientConn<MySql>, M>,
    {
        match self {
            ConnAddr::Pg(a) => a.do_send(msg),
            ConnAddr::MySql(a) => a.do_send(msg),
        }
    }

    pub(super) fn send<M>(
        &self,
        msg: M,
    ) -> Pin<Box<dyn Future<Output = Result<M::Result, MailboxError>>>>
    where
        M: Message + Send + 'static,
        M::Result: Send,
        ClientConn<Pg>: Handler<M>,
        ClientConn<MySql>: Handler<M>,
        <ClientConn<Pg> as Actor>::Context: ToEnvelope<ClientConn<Pg>, M>,
        <ClientConn<MySql> as Actor>::Context: ToEnvelope<ClientConn<MySql>, M>,
    {
        match self {
            ConnAddr::Pg(a) => Box::pin(a.send(msg)),
            ConnAddr::MySql(a) => Box::pin(a.send(msg)),
        }
    }
}
