//! Enumerations chosen by name in a query string (`sort=price_asc`): one
//! table of names per type, parsed and printed the same way everywhere.

/// The value named `value`, or an error listing the names.
pub fn parse<T: Copy>(choices: &[(&'static str, T)], value: &str) -> Result<T, String> {
    choices
        .iter()
        .find(|(name, _)| *name == value)
        .map(|(_, choice)| *choice)
        .ok_or_else(|| {
            let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
            format!("must be one of {}", names.join(", "))
        })
}

/// The name of `choice` (the first name if it has several).
pub fn name<T: PartialEq>(choices: &[(&'static str, T)], choice: &T) -> &'static str {
    choices.iter().find(|(_, c)| c == choice).map_or("", |(n, _)| *n)
}
