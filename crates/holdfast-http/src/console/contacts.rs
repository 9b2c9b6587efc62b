//! A contact as the console's lists show it, made only from a [`Visible`]: a field the
//! reader's role may not see has no value here and its column is not shown at all.

use holdfast_core::access::fields::{Field, Visible};
use holdfast_core::access::policy::Role;
use holdfast_core::crm::contacts::ContactOut;

/// Which of a contact's columns a role sees.
pub struct Columns {
    pub name: bool,
    pub email: bool,
    pub phone: bool,
    pub company: bool,
    pub tags: bool,
}

impl Columns {
    pub fn of(role: &Role) -> Columns {
        let shows = |field| {
            holdfast_core::access::fields::access(role, field)
                != holdfast_core::access::fields::Access::Hidden
        };
        Columns {
            name: shows(Field::ContactsName),
            email: shows(Field::ContactsEmail),
            phone: shows(Field::ContactsPhone),
            company: shows(Field::ContactsCompany),
            tags: shows(Field::ContactsTags),
        }
    }
}

/// One row of a contact list.
pub struct ContactRow {
    pub id: String,
    /// What the row's link says: the name, else the email, else the phone, else the id.
    pub title: String,
    pub email: String,
    pub phone: String,
    pub company: String,
    pub tags: Vec<String>,
}

impl ContactRow {
    pub fn of(role: &Role, contact: &ContactOut) -> ContactRow {
        let visible = Visible::contact(role, contact);
        ContactRow::from_visible(contact.id.clone(), &visible)
    }

    pub fn from_visible(id: String, visible: &Visible) -> ContactRow {
        let text = |field| visible.text(field).unwrap_or_default().to_owned();
        let tags = if visible.shows(Field::ContactsTags) {
            visible.as_json()["tags"]
                .as_array()
                .map(|tags| {
                    tags.iter()
                        .filter_map(|t| t.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        ContactRow {
            title: title(&id, visible),
            email: text(Field::ContactsEmail),
            phone: text(Field::ContactsPhone),
            company: text(Field::ContactsCompany),
            tags,
            id,
        }
    }
}

/// How a page names a contact: its name, email or phone as the reader may see them, else
/// "Contact" and its id.
pub fn title(id: &str, visible: &Visible) -> String {
    [
        Field::ContactsName,
        Field::ContactsEmail,
        Field::ContactsPhone,
    ]
    .into_iter()
    .find_map(|f| visible.text(f).filter(|t| !t.trim().is_empty()))
    .map(str::to_owned)
    .unwrap_or_else(|| format!("Contact {id}"))
}
