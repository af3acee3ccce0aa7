//! Where order emails go (`docs/emails.md`): one MIME message (plain text
//! and HTML, `mail-builder`), sent as raw content through Amazon SES v2 in
//! AWS, or written as `<id>.eml` under the local stack's state directory,
//! which the storefront's dev mailbox lists.

use shop_domain::ids::UserId;
use shop_domain::mail::Mail;
use std::path::{Path, PathBuf};

/// A failure to hand a message over; the event is tried again.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("writing the message failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("SES refused or did not answer: {0}")]
    Ses(String),
    #[error("the user directory did not answer: {0}")]
    Directory(String),
}

/// Where a shopper's email address is found.
#[derive(Debug, Clone)]
pub enum Directory {
    /// The Cognito user pool the shoppers sign in with (`AdminGetUser`; the
    /// pool signs in by email, so a user's username is their `sub`, the
    /// shop's user id).
    Cognito {
        client: aws_sdk_cognitoidentityprovider::Client,
        pool: String,
    },
    /// The local stack's sign-in, which has user names and no addresses:
    /// a shopper's mail goes to `<user>@<domain>`.
    Local { domain: String },
}

impl Directory {
    pub fn cognito(sdk: &aws_config::SdkConfig, pool: impl Into<String>) -> Self {
        Self::Cognito {
            client: aws_sdk_cognitoidentityprovider::Client::new(sdk),
            pool: pool.into(),
        }
    }

    /// The shopper's address; `None` when they have none (or no longer exist).
    pub async fn email_of(&self, user: &UserId) -> Result<Option<String>, MailError> {
        match self {
            Self::Local { domain } => Ok(Some(format!("{user}@{domain}"))),
            Self::Cognito { client, pool } => {
                let found = client
                    .admin_get_user()
                    .user_pool_id(pool)
                    .username(user.as_str())
                    .send()
                    .await;
                let found = match found {
                    Ok(found) => found,
                    Err(e) if e.as_service_error().is_some_and(|e| e.is_user_not_found_exception()) => return Ok(None),
                    Err(e) => return Err(MailError::Directory(shop_domain::report::error_chain(&e))),
                };
                Ok(found
                    .user_attributes()
                    .iter()
                    .find(|a| a.name() == "email")
                    .and_then(|a| a.value())
                    .map(str::to_owned))
            }
        }
    }
}

/// Where mail goes.
#[derive(Debug, Clone)]
pub enum Mailer {
    /// Amazon SES v2 (`SendEmail` with raw content) from a verified address.
    Ses {
        client: aws_sdk_sesv2::Client,
        from: String,
    },
    /// A folder of `.eml` files (the local stack's `<state>/mail`).
    Folder { dir: PathBuf, from: String },
}

impl Mailer {
    pub fn ses(sdk: &aws_config::SdkConfig, from: impl Into<String>) -> Self {
        Self::Ses {
            client: aws_sdk_sesv2::Client::new(sdk),
            from: from.into(),
        }
    }

    pub fn folder(dir: impl Into<PathBuf>, from: impl Into<String>) -> Self {
        Self::Folder {
            dir: dir.into(),
            from: from.into(),
        }
    }

    /// Sends `mail`; `id` names the message (an event id: letters, digits,
    /// `_` and `-`) and `at` is its date (Unix seconds). Answers the
    /// message id SES gave it, or the file it was written to.
    pub async fn send(&self, id: &str, mail: &Mail, at: i64) -> Result<String, MailError> {
        match self {
            Self::Ses { client, from } => {
                let raw = aws_sdk_sesv2::types::RawMessage::builder()
                    .data(aws_sdk_sesv2::primitives::Blob::new(mime(id, from, mail, at)))
                    .build()
                    .map_err(|e| MailError::Ses(e.to_string()))?;
                let sent = client
                    .send_email()
                    .from_email_address(from)
                    .destination(
                        aws_sdk_sesv2::types::Destination::builder()
                            .to_addresses(&mail.to)
                            .build(),
                    )
                    .content(aws_sdk_sesv2::types::EmailContent::builder().raw(raw).build())
                    .send()
                    .await
                    .map_err(|e| MailError::Ses(shop_domain::report::error_chain(&e)))?;
                Ok(sent.message_id().unwrap_or_default().to_owned())
            }
            Self::Folder { dir, from } => {
                let path = write_atomically(dir, id, &mime(id, from, mail, at)).await?;
                Ok(path.display().to_string())
            }
        }
    }
}

/// The message as RFC 5322 bytes: multipart/alternative, text and HTML.
pub fn mime(id: &str, from: &str, mail: &Mail, at: i64) -> Vec<u8> {
    mail_builder::MessageBuilder::new()
        .from(from)
        .to(mail.to.as_str())
        .subject(mail.subject.as_str())
        .message_id(format!("{id}@storefront"))
        .date(at)
        .text_body(mail.text.as_str())
        .html_body(mail.html.as_str())
        .write_to_vec()
        .expect("writing to memory does not fail")
}

/// `<dir>/<id>.eml`, written whole or not at all (a temporary file renamed
/// into place), so a reader never sees half a message and writing the same
/// id again replaces it.
async fn write_atomically(dir: &Path, id: &str, bytes: &[u8]) -> std::io::Result<PathBuf> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{id:?} is not a message id"),
        ));
    }
    tokio::fs::create_dir_all(dir).await?;
    let path = dir.join(format!("{id}.eml"));
    let partial = dir.join(format!(".{id}.eml.partial"));
    tokio::fs::write(&partial, bytes).await?;
    tokio::fs::rename(&partial, &path).await?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail() -> Mail {
        Mail {
            to: "ann@example.test".into(),
            subject: "Your order ord_1 is confirmed ✓".into(),
            text: "Hello Ann,\n\nThanks.\n".into(),
            html: "<p>Hello Ann,</p>".into(),
        }
    }

    #[test]
    fn a_message_has_both_parts_and_reads_back() {
        let bytes = mime("ord_1-OrderPlaced-v1", "shop@example.test", &mail(), 1_764_000_000);
        let parsed = mail_parser::MessageParser::default().parse(&bytes).unwrap();
        assert_eq!(parsed.subject(), Some("Your order ord_1 is confirmed ✓"));
        assert_eq!(
            parsed.to().unwrap().first().unwrap().address(),
            Some("ann@example.test")
        );
        assert_eq!(parsed.message_id(), Some("ord_1-OrderPlaced-v1@storefront"));
        // Lines leave with CRLF endings, as RFC 5322 has them.
        assert_eq!(parsed.body_text(0).unwrap().trim_end(), "Hello Ann,\r\n\r\nThanks.");
        assert_eq!(parsed.body_html(0).unwrap(), "<p>Hello Ann,</p>");
    }

    #[tokio::test]
    async fn the_folder_holds_one_file_per_id_whatever_the_repeats() {
        let dir = std::env::temp_dir().join(format!("shop-mail-test-{}", std::process::id()));
        let mailer = Mailer::folder(&dir, "shop@example.test");
        for _ in 0..3 {
            mailer.send("ord_1-OrderPlaced-v1", &mail(), 1).await.unwrap();
        }
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["ord_1-OrderPlaced-v1.eml"]);
        assert!(mailer.send("../escape", &mail(), 1).await.is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
