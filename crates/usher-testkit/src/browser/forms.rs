//! Filling a page's form in as a person would: type into its fields, then
//! press its submit button.

use super::Browser;

impl Browser {
    /// Types each `(name, value)` into the input of that name inside the
    /// form matching `form`, then clicks the form's submit button.
    pub async fn submit_filled(&self, form: &str, fields: &[(&str, &str)]) {
        for (name, value) in fields {
            self.fill(&format!("{form} input[name={name}]"), value)
                .await;
        }
        self.click(&format!("{form} button[type=submit]")).await;
    }
}
