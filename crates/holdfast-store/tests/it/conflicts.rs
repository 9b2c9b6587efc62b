//! Conflict mapping: a real duplicate write, through the store function that makes it, comes
//! back as `StoreError::Unique` with its `Conflict` kind, whichever way the database names the
//! constraint in its error.

use crate::{TestDb, now, unique};
use holdfast_core::access::policy::{BuiltinRole, PermissionSet, Role};
use holdfast_core::access::roles::RoleFields;
use holdfast_core::crm::companies::CompanyFields;
use holdfast_core::crm::contact_fields::{FieldDef, FieldType};
use holdfast_core::crm::contacts::ContactFields;
use holdfast_core::helpdesk::saved_replies::SavedReplyChange;
use holdfast_store::identity::{self, Invitee, PendingInvitation};
use holdfast_store::{
    Conflict, StoreError, Tenant, access::invitations, access::roles, crm::companies,
    crm::contact_fields, crm::contacts, helpdesk::saved_replies, idempotency, ops::admin,
};

/// Every kind; `provoke` matches them all, so a new kind does not compile until it has a case.
const ALL: [Conflict; 10] = [
    Conflict::ContactEmail,
    Conflict::CompanyDomain,
    Conflict::ContactFieldKey,
    Conflict::WorkspaceSlug,
    Conflict::UserEmail,
    Conflict::RoleName,
    Conflict::SavedReplyName,
    Conflict::SavedReplyShortcut,
    Conflict::IdempotencyKey,
    Conflict::InvoiceNumber,
];

fn company(name: &str, domain: &str) -> CompanyFields {
    CompanyFields {
        name: name.to_owned(),
        domain: Some(domain.to_owned()),
        notes: None,
    }
}

fn role(name: &str) -> RoleFields {
    RoleFields {
        name: name.to_owned(),
        description: String::new(),
        permissions: PermissionSet::default(),
        field_rules: Default::default(),
    }
}

fn reply(name: &str, shortcut: Option<&str>) -> SavedReplyChange {
    SavedReplyChange {
        name: Some(name.to_owned()),
        body: Some("Thanks for writing.".to_owned()),
        shortcut: Some(shortcut.map(str::to_owned)),
    }
}

/// Writes the record `conflict` is about twice in `ws` (the second differing where the
/// constraint does not look, e.g. in letter case) and returns the second write's error.
async fn provoke(t: &TestDb, ws: &Tenant, conflict: Conflict) -> StoreError {
    let mut tx = t.db.write(ws).await.unwrap();
    let second = match conflict {
        Conflict::InvoiceNumber => {
            use holdfast_core::invoicing::invoices::DraftFields;
            use holdfast_core::invoicing::money::Currency;
            use holdfast_store::invoicing::invoices;
            let fields = DraftFields {
                contact_id: "ct_00000000000000000000000000000001".to_owned(),
                company_id: None,
                job_id: None,
                currency: Currency::EUR,
                lines: Vec::new(),
                payment_terms_days: None,
                due_date: None,
                notes: None,
                payment_instructions: None,
            };
            let bill_to = invoices::BillTo::default();
            let mut issue_one = async |n: i64| {
                let id = invoices::insert_draft(&mut tx, &fields, (100, 0, 100), "test", now() + n)
                    .await
                    .unwrap();
                invoices::issue(
                    &mut tx,
                    &id,
                    "INV-000001",
                    "2026-12-07",
                    "2026-12-21",
                    &bill_to,
                    now(),
                )
                .await
            };
            issue_one(0).await.unwrap();
            issue_one(1).await
        }
        Conflict::ContactEmail => {
            let email = |name: &str, email: &str| ContactFields {
                name: Some(name.to_owned()),
                email: Some(email.to_owned()),
                ..ContactFields::default()
            };
            contacts::insert(&mut tx, &email("Ada", "ada@example.com"), now())
                .await
                .unwrap();
            contacts::insert(&mut tx, &email("Ada again", "ADA@example.com"), now())
                .await
                .map(drop)
        }
        Conflict::CompanyDomain => {
            companies::insert(&mut tx, &company("Acme", "acme.example"), now())
                .await
                .unwrap();
            companies::insert(&mut tx, &company("Acme Ltd", "acme.example"), now())
                .await
                .map(drop)
        }
        Conflict::ContactFieldKey => {
            let def = |label: &str| FieldDef {
                key: "vat_id".to_owned(),
                label: label.to_owned(),
                field_type: FieldType::Text,
                options: Vec::new(),
                required: false,
            };
            contact_fields::insert(&mut tx, &def("VAT id"), now())
                .await
                .unwrap();
            contact_fields::insert(&mut tx, &def("VAT number"), now())
                .await
                .map(drop)
        }
        Conflict::RoleName => {
            roles::create(&mut tx, &role("Dispatcher"), now())
                .await
                .unwrap();
            roles::create(&mut tx, &role("Dispatcher"), now())
                .await
                .map(drop)
        }
        Conflict::SavedReplyName => {
            saved_replies::create(&mut tx, &reply("Welcome", None), now())
                .await
                .unwrap();
            saved_replies::create(&mut tx, &reply("WELCOME", None), now())
                .await
                .map(drop)
        }
        Conflict::SavedReplyShortcut => {
            saved_replies::create(&mut tx, &reply("Welcome", Some("hi")), now())
                .await
                .unwrap();
            saved_replies::create(&mut tx, &reply("Hello", Some("hi")), now())
                .await
                .map(drop)
        }
        Conflict::IdempotencyKey => {
            idempotency::save(&mut tx, "key-1", "hash-a", 201, "{}", now())
                .await
                .unwrap();
            idempotency::save(&mut tx, "key-1", "hash-b", 201, "{}", now()).await
        }
        Conflict::WorkspaceSlug => {
            drop(tx);
            let slug = unique("taken");
            let create = |owner: &'static str| {
                let slug = slug.clone();
                async move {
                    admin::unscoped_create_workspace(
                        &t.db,
                        "Taken",
                        &slug,
                        &format!("{owner}@{slug}.example.com"),
                        "not-a-password-hash",
                        now(),
                    )
                    .await
                }
            };
            create("first").await.unwrap();
            return create("second").await.unwrap_err();
        }
        Conflict::UserEmail => {
            // The address has an account (another workspace's owner) by the time the
            // invitation to it is accepted as a new account.
            drop(tx);
            let (_, other) = t.workspace("owner-elsewhere").await;
            let email = format!("owner@{other}.example.com");
            let mut tx = t.db.write(ws).await.unwrap();
            let support = Role::builtin(BuiltinRole::Support);
            let (invitation, _token) = invitations::create(&mut tx, &email, &support, now())
                .await
                .unwrap();
            tx.commit().await.unwrap();
            let pending = PendingInvitation {
                workspace_id: ws.workspace_id().as_str().to_owned(),
                workspace_name: "Invited".to_owned(),
                id: invitation.id,
                email,
                role: support.as_str().to_owned(),
                require_2fa: 0,
            };
            let new = Invitee::New {
                password_hash: None,
            };
            return identity::accept_invitation(&t.db, &pending, new, now())
                .await
                .unwrap_err();
        }
    };
    second.unwrap_err()
}

async fn each_conflict_kind_comes_from_its_duplicate(t: &TestDb) {
    for conflict in ALL {
        let (ws, _) = t.workspace("conflicts").await;
        let err = provoke(t, &ws, conflict).await;
        assert!(
            matches!(err, StoreError::Unique { conflict: c } if c == conflict),
            "{conflict:?} on {:?}: {err:?}",
            t.backend()
        );
    }
}

#[tokio::test]
async fn every_conflict_kind_is_recognised_on_this_database() {
    each_conflict_kind_comes_from_its_duplicate(&TestDb::new().await).await;
}

/// On a PostgreSQL run, SQLite is checked too, so both namings are proven by every CI run.
#[tokio::test]
async fn every_conflict_kind_is_recognised_on_sqlite_too() {
    if crate::postgres_url().is_none() {
        return; // the test above ran on SQLite
    }
    let dir = tempfile::tempdir().unwrap();
    let db = holdfast_store::Db::connect(
        &format!("sqlite://{}/conflicts.db", dir.path().display()),
        2,
    )
    .await
    .unwrap();
    db.migrate().await.unwrap();
    each_conflict_kind_comes_from_its_duplicate(&TestDb::from_parts(db, dir)).await;
}

/// Unique values are unique per workspace: the same contact address, company domain and role
/// name in another workspace are no conflict.
#[tokio::test]
async fn the_same_values_in_another_workspace_are_no_conflict() {
    let t = TestDb::new().await;
    for name in ["first", "second"] {
        let (ws, _) = t.workspace(name).await;
        let mut tx = t.db.write(&ws).await.unwrap();
        let ada = ContactFields {
            email: Some("ada@example.com".to_owned()),
            ..ContactFields::default()
        };
        contacts::insert(&mut tx, &ada, now()).await.unwrap();
        companies::insert(&mut tx, &company("Acme", "acme.example"), now())
            .await
            .unwrap();
        roles::create(&mut tx, &role("Dispatcher"), now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
}
