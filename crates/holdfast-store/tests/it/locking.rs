//! `Lock::ForUpdate`: of two writers that read a row to change it, the second waits until the
//! first has committed and then reads its result, so neither change is lost. (PostgreSQL:
//! the row lock; SQLite: the write lock every write scope takes.) A control run with
//! `Lock::Read` on PostgreSQL shows the lost update these tests would otherwise catch.

use crate::{TestDb, contact_id, fields_of, named, now};
use holdfast_core::helpdesk::tickets::{Channel, Priority, TicketChange};
use holdfast_core::ids::TicketId;
use holdfast_store::helpdesk::tickets::{self, Author, NewTicketRow};
use holdfast_store::{Backend, Lock, Tenant, crm::contacts};
use std::time::{Duration, Instant};

/// How long the first writer holds its row before writing.
const HOLD: Duration = Duration::from_millis(300);

/// What the second writer saw and when it finished.
struct Second {
    read_tags: Vec<String>,
    done_at: Instant,
}

/// Two read-modify-writes that each add a tag to one contact. The first reads (with `lock`),
/// tells the second to start, holds the row for `HOLD`, writes and commits; the second reads
/// (with `lock`), writes and commits. Returns when the first committed, what the second read,
/// and the tags in the end.
async fn two_tag_writers(
    t: &TestDb,
    ws: &Tenant,
    id: &str,
    lock: Lock,
) -> (Instant, Second, Vec<String>) {
    let (started, start_second) = tokio::sync::oneshot::channel::<()>();
    let first = async {
        let mut tx = t.db.write(ws).await.unwrap();
        let current = contacts::get(&mut tx, &contact_id(id), lock)
            .await
            .unwrap()
            .unwrap();
        started.send(()).unwrap();
        tokio::time::sleep(HOLD).await;
        let mut fields = fields_of(&current);
        fields.tags.push("first".to_owned());
        contacts::update(&mut tx, &contact_id(id), &fields, now())
            .await
            .unwrap()
            .unwrap();
        tx.commit().await.unwrap();
        Instant::now()
    };
    let second = async {
        start_second.await.unwrap();
        let mut tx = t.db.write(ws).await.unwrap();
        let current = contacts::get(&mut tx, &contact_id(id), lock)
            .await
            .unwrap()
            .unwrap();
        let mut fields = fields_of(&current);
        fields.tags.push("second".to_owned());
        contacts::update(&mut tx, &contact_id(id), &fields, now())
            .await
            .unwrap()
            .unwrap();
        tx.commit().await.unwrap();
        Second {
            read_tags: current.tags,
            done_at: Instant::now(),
        }
    };
    let (first_done, second) = tokio::join!(first, second);
    let tags = t.read_contact(ws, id).await.unwrap().tags;
    (first_done, second, tags)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn for_update_makes_the_second_writer_wait_and_loses_no_update() {
    let t = TestDb::new().await;
    let (ws, _) = t.workspace("lock").await;
    let contact = t.contact(&ws, &named("Locked")).await;
    let (first_done, second, tags) = two_tag_writers(&t, &ws, &contact.id, Lock::ForUpdate).await;
    assert_eq!(
        second.read_tags,
        ["first"],
        "the second writer read before the first committed"
    );
    assert!(second.done_at >= first_done);
    assert_eq!(tags, ["first", "second"], "an update was lost");
}

/// The control: without the lock, PostgreSQL lets the second writer read and change the row
/// while the first holds its stale copy, and the first then overwrites the second's change.
/// (On SQLite the write scope's lock serialises them anyway.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_lock_postgres_loses_an_update() {
    let t = TestDb::new().await;
    if t.backend() != Backend::Postgres {
        eprintln!("PostgreSQL-only control: set HOLDFAST_TEST_DATABASE_URL (CI does)");
        return;
    }
    let (ws, _) = t.workspace("nolock").await;
    let contact = t.contact(&ws, &named("Unlocked")).await;
    let (_, second, tags) = two_tag_writers(&t, &ws, &contact.id, Lock::Read).await;
    assert!(second.read_tags.is_empty());
    assert_eq!(tags, ["first"], "the second writer's tag was not lost");
}

/// The same for a ticket, whose changes also number its timeline: a locked read waits for the
/// writer holding the row and sees what it committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_ticket_read_waits_for_the_writer_holding_it() {
    let t = TestDb::new().await;
    let (ws, _) = t.workspace("ticket-lock").await;
    let system = Author {
        kind: "system",
        id: None,
    };
    let mut tx = t.db.write(&ws).await.unwrap();
    let ticket = tickets::create(
        &mut tx,
        &NewTicketRow {
            subject: "Leaking tap",
            priority: Priority::Normal,
            tags: &[],
            contact_id: None,
            channel: Channel::Api,
        },
        &system,
        now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let id = TicketId::parse(&ticket.id).unwrap();

    let (locked, start_second) = tokio::sync::oneshot::channel::<()>();
    let first = async {
        let mut tx = t.db.write(&ws).await.unwrap();
        let held = tickets::get(&mut tx, &id, Lock::ForUpdate)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(held.priority, "normal");
        locked.send(()).unwrap();
        tokio::time::sleep(HOLD).await;
        let change = TicketChange {
            priority: Some(Priority::Urgent),
            ..TicketChange::default()
        };
        tickets::update(&mut tx, &id, &change, &system, false, now())
            .await
            .unwrap()
            .unwrap();
        tx.commit().await.unwrap();
        Instant::now()
    };
    let second = async {
        start_second.await.unwrap();
        let mut tx = t.db.write(&ws).await.unwrap();
        let seen = tickets::get(&mut tx, &id, Lock::ForUpdate)
            .await
            .unwrap()
            .unwrap();
        tx.commit().await.unwrap();
        (seen, Instant::now())
    };
    let (first_done, (seen, second_done)) = tokio::join!(first, second);
    assert!(second_done >= first_done, "the locked read did not wait");
    assert_eq!(
        seen.priority, "urgent",
        "the second writer read the ticket as it was before the first committed"
    );
}
