//! A search request as the API takes it (`GET /search`): `q`, `category`,
//! `brand` (repeatable), `priceMin`, `priceMax`, `inStock`, `ratingMin`,
//! `sort`, `page` and `limit`, every problem reported at once.

use super::{DEFAULT_LIMIT, MAX_LIMIT, MAX_PAGE, MAX_TEXT, SearchRequest, SearchSort};
use shop_domain::catalog::MAX_PRICE_MINOR;
use shop_domain::ids::CategoryId;
use shop_domain::validation::FieldError;

/// The query parameters a search takes; any other is refused.
pub const PARAMETERS: &[&str] = &[
    "q",
    "category",
    "brand",
    "priceMin",
    "priceMax",
    "inStock",
    "ratingMin",
    "sort",
    "page",
    "limit",
];

/// The query parameters suggestions take (`GET /search/suggest`).
pub const SUGGEST_PARAMETERS: &[&str] = &["q", "limit"];
/// The most suggestions one request may ask for, and how many it gets by default.
pub const MAX_SUGGESTIONS: u32 = 10;
pub const DEFAULT_SUGGESTIONS: u32 = 8;

/// The most brands one search may filter on.
pub const MAX_BRANDS: usize = 20;

/// The parameters being read, and the problems found so far.
struct Reader<F> {
    values: F,
    problems: Vec<FieldError>,
}

impl<F: Fn(&str) -> Vec<String>> Reader<F> {
    /// A parameter given at most once, parsed; a problem is noted, not returned.
    fn one<T>(&mut self, name: &str, parse: impl FnOnce(&str) -> Result<T, String>) -> Option<T> {
        let found = match (self.values)(name).as_slice() {
            [] => return None,
            [value] => parse(value),
            _ => Err("must be given at most once".to_owned()),
        };
        found
            .map_err(|message| self.problems.push(FieldError::new(name, message)))
            .ok()
    }
}

/// Reads a request from `values`, which gives every value of a parameter
/// (none when it is absent).
pub fn parse(values: impl Fn(&str) -> Vec<String>) -> Result<SearchRequest, Vec<FieldError>> {
    let mut r = Reader {
        values,
        problems: Vec::new(),
    };
    let text = r.one("q", query_text).filter(|q| !q.is_empty());
    let category = r.one("category", |c| CategoryId::parse(c));
    let price = |value: &str| match value.parse::<i64>() {
        Ok(amount) if (0..=MAX_PRICE_MINOR).contains(&amount) => Ok(amount),
        _ => Err(format!("must be a whole number of cents from 0 to {MAX_PRICE_MINOR}")),
    };
    let price_min = r.one("priceMin", price);
    let price_max = r.one("priceMax", price);
    let in_stock = r.one("inStock", |v| match v {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("must be true or false".to_owned()),
    });
    let rating_min = r.one("ratingMin", |v| match v.parse::<u8>() {
        Ok(stars) if (1..=5).contains(&stars) => Ok(stars),
        _ => Err("must be a whole number of stars from 1 to 5".to_owned()),
    });
    let sort = r.one("sort", SearchSort::parse);
    let page = r.one("page", whole(MAX_PAGE));
    let limit = r.one("limit", whole(MAX_LIMIT));
    let brands = (r.values)("brand");
    if brands.len() > MAX_BRANDS {
        r.problems
            .push(FieldError::new("brand", format!("at most {MAX_BRANDS} brands")));
    }
    if brands.iter().any(|b| b.trim().is_empty() || b.chars().count() > 100) {
        r.problems
            .push(FieldError::new("brand", "each brand must be 1 to 100 characters"));
    }
    if let (Some(min), Some(max)) = (price_min, price_max)
        && min > max
    {
        r.problems
            .push(FieldError::new("priceMin", "must not be more than priceMax"));
    }
    if !r.problems.is_empty() {
        return Err(r.problems);
    }
    Ok(SearchRequest {
        text,
        prefix: false,
        category,
        brands,
        price_min,
        price_max,
        in_stock_only: in_stock.unwrap_or(false),
        rating_min,
        sort: sort.unwrap_or_default(),
        page: page.unwrap_or(1),
        limit: limit.unwrap_or(DEFAULT_LIMIT),
    })
}

/// Reads a suggestion request (`q` and `limit`): the search for `q` as
/// typed so far, its last word a prefix ([`super::word_matches`]), best
/// first. A missing or blank `q` is no text (the function answers nothing).
pub fn parse_suggest(values: impl Fn(&str) -> Vec<String>) -> Result<SearchRequest, Vec<FieldError>> {
    let mut r = Reader {
        values,
        problems: Vec::new(),
    };
    let text = r.one("q", query_text);
    let limit = r.one("limit", whole(MAX_SUGGESTIONS));
    if !r.problems.is_empty() {
        return Err(r.problems);
    }
    Ok(SearchRequest {
        text,
        prefix: true,
        limit: limit.unwrap_or(DEFAULT_SUGGESTIONS),
        ..SearchRequest::default()
    })
}

/// The words of `q`, trimmed, at most [`MAX_TEXT`] characters.
fn query_text(q: &str) -> Result<String, String> {
    let q = q.trim();
    if q.chars().count() > MAX_TEXT {
        Err(format!("must be at most {MAX_TEXT} characters"))
    } else {
        Ok(q.to_owned())
    }
}

/// A whole number from 1 to `max`.
fn whole(max: u32) -> impl Fn(&str) -> Result<u32, String> {
    move |v: &str| match v.parse::<u32>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!("must be a whole number from 1 to {max}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn parse_query(query: &str) -> Result<SearchRequest, Vec<String>> {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            map.entry(k.to_owned()).or_default().push(v.to_owned());
        }
        parse(|name| map.get(name).cloned().unwrap_or_default())
            .map_err(|problems| problems.into_iter().map(|p| p.field).collect())
    }

    #[test]
    fn suggestions_take_the_typed_words_and_a_small_limit() {
        let values = |q: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                q.iter()
                    .filter(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
                    .collect()
            }
        };
        let request = parse_suggest(values(&[("q", " headph ")])).unwrap();
        assert_eq!(
            (request.text.as_deref(), request.prefix, request.limit),
            (Some("headph"), true, DEFAULT_SUGGESTIONS)
        );
        let fields =
            |r: Result<SearchRequest, Vec<FieldError>>| r.unwrap_err().into_iter().map(|p| p.field).collect::<Vec<_>>();
        assert_eq!(parse_suggest(values(&[])).unwrap().text, None);
        assert_eq!(parse_suggest(values(&[("q", "  ")])).unwrap().text.as_deref(), Some(""));
        assert_eq!(fields(parse_suggest(values(&[("q", "a"), ("q", "b")]))), ["q"]);
        assert_eq!(
            fields(parse_suggest(values(&[("q", "lamp"), ("limit", "11")]))),
            ["limit"]
        );
        assert_eq!(
            parse_suggest(values(&[("q", "lamp"), ("limit", "3")])).unwrap().limit,
            3
        );
    }

    #[test]
    fn defaults_fill_what_is_not_given() {
        let request = parse_query("q=%20&brand=Acme&brand=Zed").unwrap();
        assert_eq!(request.text, Some("%20".to_owned()));
        assert_eq!(request.brands, ["Acme", "Zed"]);
        assert_eq!(
            (request.page, request.limit, request.sort),
            (1, DEFAULT_LIMIT, SearchSort::default())
        );
        assert_eq!(parse_query("q=   ").unwrap().text, None);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let fields =
            parse_query("category=bad%23id&priceMin=-1&inStock=yes&ratingMin=6&sort=nope&page=0&limit=101&limit=2")
                .unwrap_err();
        assert_eq!(
            fields,
            ["category", "priceMin", "inStock", "ratingMin", "sort", "page", "limit"]
        );
        assert_eq!(parse_query("ratingMin=0").unwrap_err(), ["ratingMin"]);
        assert_eq!(parse_query("ratingMin=4").unwrap().rating_min, Some(4));
        assert_eq!(parse_query("priceMin=500&priceMax=100").unwrap_err(), ["priceMin"]);
    }
}
