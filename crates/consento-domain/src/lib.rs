//! Consento's domain: the vocabulary of consent (types, events, permissions), the decision rules
//! of [`decision`], and the hashing of the consent ledger. Pure logic: no I/O, no async, no clock
//! of its own. Time and randomness come in as values (see [`time::Clock`]).

pub mod calling_hours;
pub mod calls;
pub mod consent;
pub mod contact;
pub mod controller;
pub mod decision;
pub mod erasure;
pub mod error;
pub mod held;
pub mod ids;
pub mod import;
pub mod ledger;
pub mod locale;
pub mod numbering;
pub mod receipt;
pub mod relay;
pub mod requests;
pub mod rpo;
pub mod rules;
pub mod sealed;
pub mod settings;
pub mod spreadsheet;
pub mod staff;
pub mod text;
pub mod time;
pub mod zone;

pub use consent::{
    Action, Actor, ActorKind, Channel, CollectionMethod, ConsentCode, ConsentState,
    ConsentTypeSpec, EventKind, Permissions, Purpose,
};
pub use contact::{ContactStatus, Email, LegalBasis, Phone, fold_for_search};
pub use controller::{ControllerDetails, ControllerField};
pub use decision::{AllowedBy, Cause, Decision, decide, suspension};
pub use error::DomainError;
pub use ids::{ConsentTypeId, ContactId, EventId, NoticeId, ReasonId, RequestId};
pub use locale::Locale;
pub use settings::{ContactReason, PrivacySettings};
pub use staff::{Password, Permission, Role, Username};
pub use time::{Clock, ManualClock, Timestamp};
pub use zone::{LocalTime, Zone};
