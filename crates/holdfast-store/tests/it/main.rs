//! The store's own tests: the tenant transaction, the lock mode, conflict mapping and the
//! schema. Like the HTTP suite, they run on a temporary SQLite database by default and on
//! PostgreSQL when `HOLDFAST_TEST_DATABASE_URL` is set (CI runs both).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod conflicts;
mod locking;
mod schema;
mod tenant_tx;

use holdfast_core::clock::{Clock, SystemClock};
use holdfast_core::crm::contacts::{ContactFields, ContactOut};
use holdfast_core::ids::ContactId;
use holdfast_store::{Backend, Db, Lock, Tenant, crm::contacts, ops::admin};

/// The PostgreSQL URL the suite runs against, if one was asked for (the testkit's convention).
pub fn postgres_url() -> Option<String> {
    std::env::var("HOLDFAST_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// A migrated database with room for concurrent transactions; a SQLite file lives as long as
/// this value.
pub struct TestDb {
    pub db: Db,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn new() -> TestDb {
        let (url, dir) = match postgres_url() {
            Some(url) => (url, None),
            None => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}/store.db", dir.path().display());
                (url, Some(dir))
            }
        };
        let db = Db::connect(&url, 4).await.unwrap();
        db.migrate().await.unwrap();
        TestDb { db, _dir: dir }
    }

    /// A migrated SQLite database in `dir`.
    pub fn from_parts(db: Db, dir: tempfile::TempDir) -> TestDb {
        TestDb {
            db,
            _dir: Some(dir),
        }
    }

    pub fn backend(&self) -> Backend {
        self.db.backend()
    }

    /// A new workspace (tests on PostgreSQL share one database, so every name is unique) and
    /// the tenant scope for it.
    pub async fn workspace(&self, name: &str) -> (Tenant, String) {
        let slug = unique(name);
        let created = admin::unscoped_create_workspace(
            &self.db,
            name,
            &slug,
            &format!("owner@{slug}.example.com"),
            "not-a-password-hash",
            now(),
        )
        .await
        .unwrap();
        let tenant = admin::unscoped_tenant_by_slug(&self.db, &slug)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(tenant.workspace_id().as_str(), created.workspace_id);
        (tenant, slug)
    }

    /// Stores a contact in its own committed transaction.
    pub async fn contact(&self, tenant: &Tenant, fields: &ContactFields) -> ContactOut {
        let mut tx = self.db.write(tenant).await.unwrap();
        let contact = contacts::insert(&mut tx, fields, now()).await.unwrap();
        tx.commit().await.unwrap();
        contact
    }

    /// The contact as a fresh read scope sees it.
    pub async fn read_contact(&self, tenant: &Tenant, id: &str) -> Option<ContactOut> {
        let mut tx = self.db.read(tenant).await.unwrap();
        contacts::get(&mut tx, &contact_id(id), Lock::Read)
            .await
            .unwrap()
    }
}

pub fn now() -> i64 {
    SystemClock.now_ms()
}

pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", holdfast_core::token::random_hex(4))
}

pub fn contact_id(id: &str) -> ContactId {
    ContactId::parse(id).unwrap()
}

pub fn named(name: &str) -> ContactFields {
    ContactFields {
        name: Some(name.to_owned()),
        ..ContactFields::default()
    }
}

/// A contact's stored fields, to write back changed.
pub fn fields_of(contact: &ContactOut) -> ContactFields {
    ContactFields {
        name: contact.name.clone(),
        email: contact.email.clone(),
        phone: contact.phone.clone(),
        company: contact.company.clone(),
        tags: contact.tags.clone(),
        company_id: contact.company_id.clone(),
        custom: contact.custom.clone(),
    }
}
