//! The contact's own choices: what the preference center (reached from a mail's footer) and
//! the client portal (a signed-in customer) accept, and what they show. A contact sets each
//! channel `granted` or `denied`; `unknown` is staff's to set again and `pending` Holdfast's
//! (double opt-in). A grant is the contact's consent, never left waiting for a confirmation
//! (`consent::effective_status`: the contact's own act). Pure: both entry points parse here and
//! record through `holdfast_app::crm::consent::own_choices`, so their rules cannot drift apart.

use super::consent::{Channel, Status};
use crate::validate::FieldError;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How a channel is named to the contact.
pub fn channel_label(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "Email",
        Channel::Sms => "Text messages (SMS)",
        Channel::Whatsapp => "WhatsApp",
        Channel::Phone => "Phone calls",
        Channel::Postal => "Post",
    }
}

/// The contact's choice for one channel: `granted` or `denied`.
fn own_status(field: &str, value: &str) -> Result<Status, FieldError> {
    match Status::parse(value) {
        Some(status @ (Status::Granted | Status::Denied)) => Ok(status),
        _ => Err(FieldError::new(field, "must be granted or denied")),
    }
}

/// The preference center's form, and the client portal's page: `{channel}=granted|denied` for
/// each channel chosen (one left out stays as it is), and `action`: `unsubscribe_all` denies
/// every channel, `save` (or none) records the choices sent. Every bad field is named.
pub fn choices_from_form(
    pairs: &[(String, String)],
) -> Result<Vec<(Channel, Status)>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut choices: Vec<(Channel, Status)> = Vec::new();
    let mut all = false;
    for (key, value) in pairs {
        if key == "action" {
            match value.as_str() {
                "save" => {}
                "unsubscribe_all" => all = true,
                _ => errors.push(FieldError::new("action", "must be save or unsubscribe_all")),
            }
            continue;
        }
        let Some(channel) = Channel::parse(key) else {
            errors.push(FieldError::new(
                key.as_str(),
                format!(
                    "is not a choice this page offers (the channels are {}, each granted or denied)",
                    Channel::names()
                ),
            ));
            continue;
        };
        match own_status(key, value) {
            Ok(status) if !choices.iter().any(|(c, _)| *c == channel) => {
                choices.push((channel, status))
            }
            Ok(_) => {}
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if all {
        choices = Channel::ALL.iter().map(|c| (*c, Status::Denied)).collect();
    }
    Ok(choices)
}

/// One channel's choice in [`PreferencesIn`].
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChoiceIn {
    /// `granted` or `denied`.
    pub status: String,
}

/// Body of `PATCH /api/portal/v1/preferences` (the channels named change, the others stay)
/// and of `PUT` (every channel named).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PreferencesIn {
    /// By channel (`email`, `sms`, `whatsapp`, `phone`, `postal`): the customer's choice.
    #[serde(default)]
    pub channels: BTreeMap<String, ChoiceIn>,
}

impl PreferencesIn {
    /// The choices, every bad field named at once (`channels.fax`, `channels.sms.status`).
    /// `whole` (a `PUT`): every channel must be named.
    pub fn validate(&self, whole: bool) -> Result<Vec<(Channel, Status)>, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut choices = Vec::new();
        for (name, choice) in &self.channels {
            let field = format!("channels.{name}");
            let Some(channel) = Channel::parse(name) else {
                errors.push(FieldError::new(
                    field,
                    format!("is not a channel; the channels are: {}", Channel::names()),
                ));
                continue;
            };
            match own_status(&format!("{field}.status"), &choice.status) {
                Ok(status) => choices.push((channel, status)),
                Err(e) => errors.push(e),
            }
        }
        if whole {
            for channel in Channel::ALL {
                if !self.channels.contains_key(channel.as_str()) {
                    errors.push(FieldError::new(
                        format!("channels.{}", channel.as_str()),
                        "is missing: PUT sets every channel (PATCH changes only those named)",
                    ));
                }
            }
        } else if self.channels.is_empty() {
            errors.push(FieldError::new(
                "channels",
                format!(
                    "name at least one channel to change ({}), each with its status",
                    Channel::names()
                ),
            ));
        }
        if errors.is_empty() {
            Ok(choices)
        } else {
            Err(errors)
        }
    }
}

/// One channel as the contact sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PreferenceOut {
    /// `granted`, `denied`, `unknown` (never chosen) or `pending` (a grant waiting for the
    /// confirmation mailed to the contact).
    pub status: Status,
    /// When it last changed (epoch ms), by whoever changed it.
    pub updated_at: Option<i64>,
}

/// `GET /api/portal/v1/preferences`: the customer's choice for each channel, and whether the
/// business keeps them on its do-not-contact list (then it sends nothing, whatever is chosen).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PreferencesOut {
    pub channels: BTreeMap<String, PreferenceOut>,
    pub do_not_contact: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn a_form_sets_the_channels_it_names() {
        let got = choices_from_form(&pairs(&[
            ("email", "granted"),
            ("sms", "denied"),
            ("email", "denied"),
            ("action", "save"),
        ]))
        .unwrap();
        assert_eq!(
            got,
            [
                (Channel::Email, Status::Granted),
                (Channel::Sms, Status::Denied)
            ]
        );
        assert_eq!(choices_from_form(&[]).unwrap(), []);
        let all = choices_from_form(&pairs(&[
            ("email", "granted"),
            ("action", "unsubscribe_all"),
        ]))
        .unwrap();
        assert_eq!(all.len(), Channel::ALL.len());
        assert!(all.iter().all(|(_, s)| *s == Status::Denied));
    }

    #[test]
    fn a_form_names_every_bad_field() {
        let errors = choices_from_form(&pairs(&[
            ("email", "maybe"),
            ("fax", "granted"),
            ("sms", "pending"),
            ("phone", "unknown"),
            ("action", "erase_everything"),
        ]))
        .unwrap_err();
        assert_eq!(fields(&errors), ["email", "fax", "sms", "phone", "action"]);
    }

    #[test]
    fn the_api_body_names_every_bad_field_and_put_needs_every_channel() {
        let body: PreferencesIn = serde_json::from_value(serde_json::json!({
            "channels": {"email": {"status": "denied"}, "fax": {"status": "granted"},
                         "sms": {"status": "pending"}}
        }))
        .unwrap();
        let errors = body.validate(false).unwrap_err();
        assert_eq!(fields(&errors), ["channels.fax", "channels.sms.status"]);
        let empty = PreferencesIn::default().validate(false).unwrap_err();
        assert_eq!(fields(&empty), ["channels"]);
        let one: PreferencesIn = serde_json::from_value(
            serde_json::json!({"channels": {"email": {"status": "denied"}}}),
        )
        .unwrap();
        assert_eq!(
            one.validate(false).unwrap(),
            [(Channel::Email, Status::Denied)]
        );
        let missing = one.validate(true).unwrap_err();
        assert_eq!(
            fields(&missing),
            [
                "channels.sms",
                "channels.whatsapp",
                "channels.phone",
                "channels.postal"
            ]
        );
        assert!(
            serde_json::from_value::<PreferencesIn>(serde_json::json!({
                "channels": {"email": {"status": "granted", "lawful_basis": "contract"}}
            }))
            .is_err(),
            "a customer states no lawful basis: their grant is their consent"
        );
    }
}
