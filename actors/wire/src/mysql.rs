//! The MySQL client/server protocol (as MySQL 5.7+/8 and MariaDB 10+ speak it): packet
//! framing, the basic data types, the connection-phase handshake, the generic
//! OK/ERR/EOF responses, and `exchange`, which finds where the answer to each command
//! ends. Result sets themselves are relayed as opaque packets. `translate` converts
//! values, parameters, errors and placeholders for serving MySQL clients from a
//! PostgreSQL database. The compressed protocol is not supported.
//!
//! Spec: <https://dev.mysql.com/doc/dev/mysql-server/latest/PAGE_PROTOCOL.html>;
//! MariaDB: <https://mariadb.com/docs/server/reference/clientserver-protocol>

pub mod change_user;
pub mod codec;
pub mod consts;
pub mod error;
pub mod exchange;
pub mod handshake;
pub mod packet;
pub mod response;
pub mod scanner;
pub mod translate;

pub use error::MysqlError;
pub use handshake::{
    AuthMoreData, AuthSwitchRequest, ClientHandshake, HandshakeResponse41, HandshakeV10, SslRequest,
};
pub use packet::{next_packet, read_payload, write_payload, PacketHeader, Payload, MAX_PAYLOAD};
pub use response::{ends_rows, is_eof, status_flags, EofPacket, ErrPacket, OkPacket};
